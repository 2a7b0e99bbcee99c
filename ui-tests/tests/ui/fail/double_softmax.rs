use staticnn::prelude::*;

network! {
    // SoftmaxCrossEntropy applies softmax itself.
    struct Twice: [4] { Dense(8), Relu, Dense(3), Softmax }
}

fn main() -> Result<()> {
    let data = Dataset::<Rank1<4>, ClassIndex>::new(vec![0.0; 8], vec![0.0, 1.0])?;
    let mut net = Twice::init(&Cpu, 0)?;
    let cfg = FitConfig::new(1, 2);
    fit(&mut net, &mut Sgd::new(0.1), &SoftmaxCrossEntropy, &data, None, &cfg)?;
    Ok(())
}
