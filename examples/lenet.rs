//! LeNet-5 on real MNIST digits: two convolutions with max pooling, then
//! three dense layers, declared once (in `common/mod.rs`, shared with
//! `benches/workloads.rs`, where it is workload W3) and shape-checked by
//! the compiler.
//!
//! Trains on the 5,000 bundled digits (80/20 split, as in the `mnist`
//! example), or on the full IDX set with `--data DIR`, and reports the
//! validation accuracy.
//!
//! ```text
//! cargo run --release --example lenet
//! cargo run --release --example lenet -- --data ~/mnist --epochs 10
//! cargo run --release --features cuda --example lenet -- --device cuda
//! ```

mod common;

use common::{Args, DeviceChoice, LeNet};
use staticnn::prelude::*;

fn main() -> std::process::ExitCode {
    common::exit_code(parse_and_run())
}

fn parse_and_run() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse(
        "lenet",
        "Train LeNet-5 on MNIST digits and save its weights",
        Args {
            data: None,
            epochs: 20,
            batch: 64,
            lr: 2e-3,
            seed: 42,
            out: "mnist_lenet.safetensors".into(),
            patience: 4,
            device: DeviceChoice::Cpu,
        },
    );
    run_on_device!(args, run)
}

fn run<B: Backend>(device: &B, args: &Args) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let (train, val) = args.load::<Rank3<1, 28, 28>>()?;
    let mut net = LeNet::<B>::init(device, args.seed)?;
    common::train(&mut net, args, &train, &val)?;
    Ok(())
}
