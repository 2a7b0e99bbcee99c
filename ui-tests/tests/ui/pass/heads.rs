//! What the loss checks allow: logits into SoftmaxCrossEntropy, Sigmoid
//! and Softmax into BinaryCrossEntropy and Mse, a network with `Step` used
//! for inference and evaluation, layers written `Relu()` as PyTorch's
//! `nn.ReLU()`, and a network from another module used by its path.
use staticnn::prelude::*;

mod models {
    use staticnn::prelude::*;
    network! { pub struct Encoder: [4] { Dense(3), Relu() } }
}

network! {
    struct Logits: [4] { enc: models::Encoder -> [3], Dense(3) }
    struct Probs: [4] { Dense(3), Sigmoid }
    struct Dist: [4] { Dense(3), Softmax() }
    struct Gate: [4] { Dense(3), Step }
}

fn main() -> Result<()> {
    let classes = Dataset::<Rank1<4>, ClassIndex>::new(vec![0.5; 8], vec![0.0, 2.0])?;
    let values = Dataset::<Rank1<4>, Rank1<3>>::new(vec![0.5; 8], vec![1.0; 6])?;
    let cfg = FitConfig::new(1, 2).verbose(false);
    let opt = || Sgd::new(0.1);
    fit(&mut Logits::init(&Cpu, 0)?, &mut opt(), &SoftmaxCrossEntropy, &classes, None, &cfg)?;
    fit(&mut Probs::init(&Cpu, 0)?, &mut opt(), &BinaryCrossEntropy, &values, None, &cfg)?;
    fit(&mut Probs::init(&Cpu, 0)?, &mut opt(), &Mse, &values, None, &cfg)?;
    fit(&mut Dist::init(&Cpu, 0)?, &mut opt(), &BinaryCrossEntropy, &values, None, &cfg)?;
    fit(&mut Dist::init(&Cpu, 0)?, &mut opt(), &Mse, &values, None, &cfg)?;
    let gate = Gate::init(&Cpu, 0)?;
    evaluate(&gate, &Mse, &values, 2)?;
    Ok(())
}
