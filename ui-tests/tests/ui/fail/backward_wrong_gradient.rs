use staticnn::prelude::*;

network! {
    struct Mlp: [784] { Dense(128), Relu, Dense(10) }
}

fn main() -> Result<()> {
    let net = Mlp::init(&Cpu, 0)?;
    let x = Tensor::<Cpu, Rank1<784>>::zeros(&Cpu, 1)?;
    let mut state = Default::default();
    let mut grads = net.zero_grads(&Cpu)?;
    net.infer(&x, &mut state)?;
    // The gradient of the output must have the output's shape, [10].
    let dy = Tensor::<Cpu, Rank1<12>>::zeros(&Cpu, 1)?;
    net.backward(&x, &dy, &mut state, &mut grads)?;
    Ok(())
}
