use staticnn::prelude::*;

network! {
    struct Probs: [4] { Dense(3), Sigmoid }
    // The head is seen through a nested network too.
    struct Outer: [4] { inner: Probs }
}

fn main() -> Result<()> {
    let data = Dataset::<Rank1<4>, ClassIndex>::new(vec![0.0; 8], vec![0.0, 1.0])?;
    let mut net = Outer::init(&Cpu, 0)?;
    let cfg = FitConfig::new(1, 2);
    fit(&mut net, &mut Sgd::new(0.1), &SoftmaxCrossEntropy, &data, None, &cfg)?;
    Ok(())
}
