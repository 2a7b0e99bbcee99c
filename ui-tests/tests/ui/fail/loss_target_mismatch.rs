use staticnn::prelude::*;

network! {
    struct Mlp: [4] { Dense(3) }
}

fn main() -> Result<()> {
    let mut net = Mlp::init(&Cpu, 0)?;
    // One-hot targets given to a loss that takes class indices.
    let data = Dataset::<Rank1<4>, Rank1<3>>::new(vec![0.0; 4], vec![1.0, 0.0, 0.0])?;
    let mut opt = Sgd::new(0.1);
    fit(&mut net, &mut opt, &SoftmaxCrossEntropy, &data, None, &FitConfig::new(1, 1))?;
    Ok(())
}
