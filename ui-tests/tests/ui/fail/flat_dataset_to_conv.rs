use staticnn::prelude::*;

network! {
    struct Lenet: [1, 28, 28] { Conv2d(4, kernel = 3), Relu, Flatten, Dense(10) }
}

fn main() -> Result<()> {
    let mut net = Lenet::init(&Cpu, 0)?;
    // Flat rows of 784 pixels, as a CSV gives them; the network takes
    // 1x28x28 images (`data.reshape::<Rank3<1, 28, 28>>()` is the fix).
    let data = Dataset::<Rank1<784>, ClassIndex>::new(vec![0.0; 784], vec![1.0])?;
    fit(&mut net, &mut Sgd::new(0.1), &SoftmaxCrossEntropy, &data, None, &FitConfig::new(1, 1))?;
    Ok(())
}
