//! LeNet-5 on real MNIST digits: two convolutions with max pooling, then
//! three dense layers, declared once and shape-checked by the compiler.
//!
//! Trains on the 5,000 bundled digits (80/20 split, as in the `mnist`
//! example), or on the full IDX set with `--data DIR`, and reports the
//! validation accuracy.
//!
//! ```text
//! cargo run --release --example lenet
//! cargo run --release --example lenet -- --data ~/mnist --epochs 10
//! ```

mod common;

use common::Args;
use staticnn::prelude::*;

network! {
    /// LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, for 28x28
    /// grey images: the first convolution pads to keep 28x28, as the
    /// original did for its 32x32 inputs.
    pub struct LeNet: [1, 28, 28] {
        conv1: Conv2d(6, kernel = 5, padding = 2), Relu, MaxPool2d(2),
        conv2: Conv2d(16, kernel = 5), Relu, MaxPool2d(2),
        Flatten,
        fc1: Dense(120), Relu,
        fc2: Dense(84), Relu,
        fc3: Dense(10),
    }
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse(
        "lenet",
        Args {
            data: None,
            epochs: 20,
            batch: 64,
            lr: 2e-3,
            seed: 42,
            out: "mnist_lenet.safetensors".into(),
            patience: 4,
        },
    )?;
    let (train, val) = args.load::<Rank3<1, 28, 28>>()?;
    let mut net = LeNet::init(&Cpu, args.seed)?;
    common::train(&mut net, &args, &train, &val)?;
    Ok(())
}
