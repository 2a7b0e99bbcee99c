use staticnn::prelude::*;

network! {
    struct Mlp: [784] { Dense(128), Relu, Dense(10) }
}

fn main() -> Result<()> {
    let net = Mlp::init(&Cpu, 0)?;
    let x = Tensor::<Cpu, Rank1<784>>::zeros(&Cpu, 1)?;
    let _y: Tensor<Cpu, Rank1<5>> = net.forward(&x)?;
    Ok(())
}
