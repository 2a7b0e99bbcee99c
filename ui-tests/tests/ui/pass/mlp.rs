use staticnn::prelude::*;

network! {
    pub struct Mlp: [784] {
        fc1: Dense(128), Relu,
        fc2: Dense(10),
    }
}

fn main() -> Result<()> {
    let net: Mlp = Mlp::init(&Cpu, 0)?;
    let x = Tensor::<Cpu, Rank1<784>>::zeros(&Cpu, 4)?;
    let y: Tensor<Cpu, Rank1<10>> = net.forward(&x)?;
    assert_eq!(y.batch(), 4);
    assert_eq!(Mlp::<Cpu>::NUM_PARAMS, 101_770);
    Ok(())
}
