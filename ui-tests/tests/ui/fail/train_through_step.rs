use staticnn::prelude::*;
use staticnn::train::{train_step, StepBuffers};

network! {
    struct Gate: [2] { Dense(1), Step }
    // Step inside a residual block or a nested network blocks training too.
    struct Blocked: [2] { Residual { Dense(2), Step }, Dense(2) }
    struct Outer: [2] { gate: Gate, Dense(2) }
}

fn main() -> Result<()> {
    let data = Dataset::<Rank1<2>, Rank1<1>>::new(vec![0.0; 4], vec![0.0; 2])?;
    let cfg = FitConfig::new(1, 2);
    let mut gate = Gate::init(&Cpu, 0)?;
    fit(&mut gate, &mut Sgd::new(0.1), &Mse, &data, None, &cfg)?;

    let mut blocked = Blocked::init(&Cpu, 0)?;
    let x = Tensor::<Cpu, Rank1<2>>::zeros(&Cpu, 2)?;
    let y = Tensor::<Cpu, Rank1<2>>::zeros(&Cpu, 2)?;
    let mut buffers = StepBuffers::new(&blocked, &Cpu)?;
    let mut ctx = TrainCtx::new(0);
    train_step(&mut blocked, &mut Sgd::new(0.1), &Mse, &x, &y, &mut buffers, &mut ctx)?;

    let mut outer = Outer::init(&Cpu, 0)?;
    let data2 = Dataset::<Rank1<2>, Rank1<2>>::new(vec![0.0; 4], vec![0.0; 4])?;
    fit(&mut outer, &mut Sgd::new(0.1), &Mse, &data2, None, &cfg)?;
    Ok(())
}
