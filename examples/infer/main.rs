//! Inference: load the weights the `mnist` example saved and classify
//! digits read from a file.
//!
//! ```text
//! cargo run --release --example mnist            # trains, writes mnist_mlp.safetensors
//! cargo run --release --example infer            # 10 digits from the bundled set
//! cargo run --release --example infer -- digit.png
//! cargo run --release --example infer -- --weights w.safetensors digits.csv
//! ```
//!
//! Files: a PNG or PGM image of one digit, of any size, dark on light or
//! light on dark (it is prepared the way MNIST's digits were: see
//! `staticnn::images`), or a CSV with one digit per line (784 pixel values 0-255,
//! optionally followed by the label), optionally gzipped.
//!
//! Classification goes through `Predictor`, the allocation-free
//! single-sample path meant for embedding a network in an application.

#[path = "../common/mod.rs"]
mod common;

use common::{bundled_csv_options, bundled_path, Mlp};
use staticnn::images;
use staticnn::prelude::*;
use std::path::{Path, PathBuf};

type Error = Box<dyn std::error::Error>;

/// Pixels (scaled to [0, 1], as in training) and known labels from a file.
fn read_digits(path: &Path) -> std::result::Result<(Vec<f32>, Vec<Option<usize>>), Error> {
    let is_image = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pgm") || e.eq_ignore_ascii_case("png"));
    if is_image {
        let digit = images::mnist_like(&images::read(path)?)?;
        return Ok((digit, vec![None]));
    }
    // With a label column, or pixels only.
    match csv::load::<Rank1<784>, ClassIndex>(path, bundled_csv_options()) {
        Ok(d) => Ok((
            d.inputs().to_vec(),
            d.targets().iter().map(|&l| Some(l as usize)).collect(),
        )),
        Err(with_label) => match csv::load_inputs::<Rank1<784>>(path, bundled_csv_options()) {
            Ok(px) => {
                let n = px.len() / 784;
                Ok((px, vec![None; n]))
            }
            Err(_) => Err(with_label.into()),
        },
    }
}

/// Class probabilities from the network's logits.
fn softmax(logits: &[f32]) -> [f32; 10] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut p = [0.0; 10];
    for (p, &z) in p.iter_mut().zip(logits) {
        *p = (z - max).exp();
    }
    let sum: f32 = p.iter().sum();
    p.map(|v| v / sum)
}

/// Classify digits with the weights the `mnist` example saved.
#[derive(clap::Parser)]
#[command(about)]
struct Cli {
    /// Weights saved by the `mnist` example.
    #[arg(long, default_value = "mnist_mlp.safetensors")]
    weights: PathBuf,
    /// A PNG, PGM or BMP of one digit, or a CSV of pixel rows (optionally
    /// gzipped); without it, ten of the bundled digits.
    file: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    common::exit_code(classify(<Cli as clap::Parser>::parse()))
}

fn classify(cli: Cli) -> std::result::Result<(), Error> {
    let (weights, file) = (cli.weights, cli.file);
    let mut net = Mlp::init(&Cpu, 0)?;
    net.load(&weights).map_err(|e| {
        format!(
            "{e}\n(run `cargo run --release --example mnist` first to train and save the weights)"
        )
    })?;

    let (pixels, labels) = match &file {
        Some(path) => read_digits(path)?,
        None => {
            // Ten digits spread over the bundled set, one per class.
            let bundled = bundled_path();
            let (all, _) = read_digits(&bundled)?;
            let picks: Vec<usize> = (0..10).map(|c| c * 500 + 137).collect();
            let mut px = Vec::new();
            for &i in &picks {
                px.extend_from_slice(&all[i * 784..(i + 1) * 784]);
            }
            println!(
                "no file given: classifying 10 digits from {} (some were seen in training)",
                bundled.display()
            );
            (px, picks.iter().map(|&i| Some(i / 500)).collect())
        }
    };

    // One digit at a time, as an application would: the predictor reuses
    // its buffers, so each call allocates nothing.
    let mut predictor = Predictor::new(&net)?;
    let mut right = 0;
    for (i, digit) in pixels.chunks_exact(784).enumerate() {
        let logits = predictor.predict(digit)?;
        let p = softmax(logits);
        let class = (0..10).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
        let shown: Vec<String> = p.iter().map(|v| format!("{v:.2}")).collect();
        let label = match labels.get(i).copied().flatten() {
            Some(l) => {
                right += (l == class) as usize;
                format!(" (label {l})")
            }
            None => String::new(),
        };
        println!(
            "digit {i}: predicted {class} with probability {:.3}{label}  [{}]",
            p[class],
            shown.join(" ")
        );
    }
    if labels.iter().any(Option::is_some) {
        println!(
            "{right}/{} correct",
            labels.iter().filter(|l| l.is_some()).count()
        );
    }
    Ok(())
}
