//! A small residual network with batch normalisation on real MNIST digits:
//! a convolutional stem, two ResNet basic blocks (the second halves the
//! image and doubles the channels, so its shortcut is a strided 1x1
//! convolution), global average pooling and a linear classifier, declared in
//! `common/mod.rs` (shared with `benches/workloads.rs`).
//!
//! ```text
//! cargo run --release --example resnet
//! ```
//!
//! Prints the training loss per epoch (it falls) and the validation
//! accuracy; the weights (with BatchNorm's running statistics) use
//! torchvision's names, so `tests/pytorch.rs`-style PyTorch models load
//! them.

mod common;

use common::{Args, DeviceChoice, ResNet};
use staticnn::prelude::*;

fn main() -> std::process::ExitCode {
    common::exit_code(parse_and_run())
}

fn parse_and_run() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse(
        "resnet",
        "Train a small residual network with batch normalisation on MNIST digits",
        Args {
            data: None,
            epochs: 8,
            batch: 64,
            lr: 3e-3,
            seed: 42,
            out: "mnist_resnet.safetensors".into(),
            patience: 3,
            device: DeviceChoice::Cpu,
        },
    );
    run_on_device!(args, run)
}

fn run<B: Backend>(device: &B, args: &Args) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let (train, val) = args.load::<Rank3<1, 28, 28>>()?;
    let mut net = ResNet::<B>::init(device, args.seed)?;
    let history = common::train(&mut net, args, &train, &val)?;
    let losses: Vec<String> = history
        .epochs
        .iter()
        .map(|e| format!("{:.3}", e.train_loss))
        .collect();
    println!("training loss by epoch: {}", losses.join(" -> "));
    Ok(())
}
