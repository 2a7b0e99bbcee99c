use staticnn::prelude::*;

const HIDDEN: usize = 16;
const DROP: f32 = 0.25;

network! {
    /// Every layer `network!` knows, literal and const sizes.
    #[derive(Debug)]
    pub struct Everything: [2, 3, 4] {
        Flatten,
        fc1: Dense(HIDDEN), Relu,
        Dropout(DROP),
        Dense(12, init = he_uniform), LeakyRelu,
        Dense(10, bias = false), LeakyRelu(slope = 0.2),
        Dense(8), Sigmoid, Dense(6), Tanh, Dense(4), Identity,
        Dropout(0.0),
        out: Dense(3, init = torch_default), Softmax, Step,
    }

    pub(crate) struct Second: [HIDDEN] { Dense(1) }
}

fn main() -> Result<()> {
    let net = Everything::init(&Cpu, 1)?;
    let y = net.forward(&Tensor::<Cpu, Rank3<2, 3, 4>>::zeros(&Cpu, 2)?)?;
    assert_eq!(y.batch(), 2);
    let _: Tensor<Cpu, Rank1<1>> = Second::init(&Cpu, 0)?.forward(&Tensor::zeros(&Cpu, 1)?)?;
    println!("{}", net.summary());
    Ok(())
}
