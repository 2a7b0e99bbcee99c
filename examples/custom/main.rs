//! Layers and a loss of your own: a GELU and a LayerNorm written outside
//! the library (`layers.rs`), placed in a `network!` with `Custom(..)`,
//! shape-checked by the compiler, trained, saved and loaded with the
//! built-in layers; then Huber's loss, written in a few lines, against the
//! squared error on data with outliers.
//!
//! ```text
//! cargo run --release --example custom
//! cargo run --release --example custom -- --epochs 10
//! ```

#[path = "../common/mod.rs"]
mod common;
mod layers;

use common::{Args, DeviceChoice};
use layers::{GeluLayer, Huber, LayerNormLayer};
use staticnn::prelude::*;

network! {
    /// The MNIST MLP with a LayerNorm and a GELU of our own between its
    /// Dense layers. `Custom(LayerNormLayer)` after an image layer would
    /// not compile: LayerNorm is built for flat features only.
    pub struct NormedMlp: [784] {
        fc1: Dense(128),
        norm: Custom(LayerNormLayer),
        act: Custom(GeluLayer),
        fc2: Dense(10),
    }

    /// One input, one output: a line to fit.
    pub struct Line: [1] { fc: Dense(1) }
}

fn main() -> std::process::ExitCode {
    common::exit_code(parse_and_run())
}

fn parse_and_run() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse(
        "custom",
        "Train an MLP with layers of our own on MNIST digits, then fit a line with Huber's loss",
        Args {
            data: None,
            epochs: 5,
            batch: 32,
            lr: 1e-3,
            seed: 42,
            out: "mnist_custom.safetensors".into(),
            patience: 3,
            device: DeviceChoice::Cpu,
        },
    );
    let (train, val) = args.load::<Rank1<784>>()?;
    let mut net = NormedMlp::init(&Cpu, args.seed)?;
    common::train(&mut net, &args, &train, &val)?;

    // The saved weights hold the LayerNorm's scale and shift by name,
    // and load back into a fresh network.
    let mut loaded = NormedMlp::init(&Cpu, args.seed + 1)?;
    loaded.load(&args.out)?;
    let acc = evaluate(&loaded, &SoftmaxCrossEntropy, &val, 256)?.accuracy;
    println!(
        "reloaded from {}: validation accuracy {:.3}",
        args.out.display(),
        acc.unwrap_or(0.0)
    );

    robust_regression(args.seed)?;
    Ok(())
}

/// y = 2x + 1 with one target in ten thrown far off: the squared error
/// follows the outliers, Huber's loss much less.
fn robust_regression(seed: u64) -> Result<()> {
    let mut rng = staticnn::Rng::new(seed);
    let n = 200;
    let xs: Vec<f32> = (0..n).map(|i| i as f32 / n as f32 * 4.0 - 2.0).collect();
    let ys: Vec<f32> = xs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let clean = 2.0 * x + 1.0 + 0.05 * rng.normal();
            if i % 10 == 0 {
                clean + 15.0
            } else {
                clean
            }
        })
        .collect();
    let data = Dataset::<Rank1<1>, Rank1<1>>::new(xs, ys)?;
    let cfg = FitConfig::new(200, 20).seed(seed).verbose(false);
    println!("\nfitting y = 2x + 1 with 10% outliers (+15):");
    for (name, huber) in [("squared error", false), ("Huber (delta 1)", true)] {
        let mut line = Line::init(&Cpu, seed)?;
        let mut opt = Adam::new(0.05);
        if huber {
            fit(
                &mut line,
                &mut opt,
                &Huber { delta: 1.0 },
                &data,
                None,
                &cfg,
            )?;
        } else {
            fit(&mut line, &mut opt, &Mse, &data, None, &cfg)?;
        }
        let w = line.fc.weight.to_vec()?[0];
        let b = match &line.fc.bias {
            Some(bias) => bias.to_vec()?[0],
            None => 0.0,
        };
        println!("  {name:16} slope {w:.3}, intercept {b:.3}");
    }
    Ok(())
}
