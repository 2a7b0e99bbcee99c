use staticnn::prelude::*;
use staticnn::train::{train_step, StepBuffers};

network! {
    struct Mlp: [4] { Dense(3) }
}

fn main() -> Result<()> {
    let mut net = Mlp::init(&Cpu, 0)?;
    let mut opt = Sgd::new(0.1);
    let mut buffers = StepBuffers::new(&net, &Cpu)?;
    let x = Tensor::<Cpu, Rank1<4>>::zeros(&Cpu, 2)?;
    // Mse takes targets shaped like the output, [3].
    let y = Tensor::<Cpu, Rank1<4>>::zeros(&Cpu, 2)?;
    train_step(&mut net, &mut opt, &Mse, &x, &y, &mut buffers, &mut TrainCtx::new(0))?;
    Ok(())
}
