//! Inference: load the weights the `mnist` example saved and classify
//! digits read from a file.
//!
//! ```text
//! cargo run --release --example mnist            # trains, writes mnist_mlp.safetensors
//! cargo run --release --example infer            # 10 digits from the bundled set
//! cargo run --release --example infer -- digit.pgm
//! cargo run --release --example infer -- --weights w.safetensors digits.csv
//! ```
//!
//! Files: a 28x28 PGM image (binary `P5` or text `P2`, white digit on
//! black, as MNIST), or a CSV with one digit per line (784 pixel values
//! 0-255, optionally followed by the label), optionally gzipped.

mod common;

use common::{bundled_csv_options, Mlp, BUNDLED};
use staticnn::prelude::*;
use std::path::{Path, PathBuf};

type Error = Box<dyn std::error::Error>;

/// Pixels (scaled to [0, 1], as in training) and known labels from a file.
fn read_digits(path: &Path) -> std::result::Result<(Vec<f32>, Vec<Option<usize>>), Error> {
    let is_pgm = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pgm"));
    if is_pgm {
        return Ok((read_pgm(path)?, vec![None]));
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

/// A 28x28 greyscale PGM, `P5` (binary) or `P2` (text), maximum value up
/// to 255.
fn read_pgm(path: &Path) -> std::result::Result<Vec<f32>, Error> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = |why: &str| format!("{}: not a 28x28 PGM image: {why}", path.display());
    // Header: magic, width, height, maxval, separated by whitespace, with
    // `#` comments.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 && i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                let start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                fields.push(String::from_utf8_lossy(&bytes[start..i]).to_string());
            }
        }
    }
    if fields.len() < 4 {
        return Err(bad("truncated header").into());
    }
    let num = |s: &str| {
        s.parse::<usize>()
            .map_err(|_| bad(&format!("`{s}` is not a number")))
    };
    let (w, h, max) = (num(&fields[1])?, num(&fields[2])?, num(&fields[3])?);
    if (w, h) != (28, 28) {
        return Err(bad(&format!("image is {w}x{h}; resize it to 28x28")).into());
    }
    if max == 0 || max > 255 {
        return Err(bad(&format!("maximum value {max} is not in 1..=255")).into());
    }
    let pixels: Vec<usize> = match fields[0].as_str() {
        "P5" => bytes
            .get(i + 1..i + 1 + 784)
            .ok_or_else(|| bad("fewer than 784 pixels"))?
            .iter()
            .map(|&b| b as usize)
            .collect(),
        "P2" => {
            let text = String::from_utf8_lossy(&bytes[i..]);
            let values: std::result::Result<Vec<usize>, _> =
                text.split_ascii_whitespace().take(784).map(num).collect();
            let values = values?;
            if values.len() != 784 {
                return Err(bad("fewer than 784 pixels").into());
            }
            values
        }
        other => return Err(bad(&format!("magic `{other}`, expected P5 or P2")).into()),
    };
    Ok(pixels.iter().map(|&p| p as f32 / max as f32).collect())
}

fn main() -> std::result::Result<(), Error> {
    let mut weights = PathBuf::from("mnist_mlp.safetensors");
    let mut file = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--weights" => weights = PathBuf::from(args.next().ok_or("--weights needs a file")?),
            "-h" | "--help" => {
                println!("usage: infer [--weights FILE] [DIGITS.pgm | DIGITS.csv]");
                return Ok(());
            }
            _ => file = Some(PathBuf::from(a)),
        }
    }

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
            let (all, _) = read_digits(Path::new(BUNDLED))?;
            let picks: Vec<usize> = (0..10).map(|c| c * 500 + 137).collect();
            let mut px = Vec::new();
            for &i in &picks {
                px.extend_from_slice(&all[i * 784..(i + 1) * 784]);
            }
            println!(
                "no file given: classifying 10 digits from {BUNDLED} (some were seen in training)"
            );
            (px, picks.iter().map(|&i| Some(i / 500)).collect())
        }
    };

    let x = Tensor::<Cpu, Rank1<784>>::from_vec(&Cpu, pixels)?;
    let logits = net.forward(&x)?;
    let probs = staticnn::layers::Softmax::<10>::new();
    let probs = Layer::<Cpu>::forward(&probs, &logits)?;
    let mut right = 0;
    for i in 0..x.batch() {
        let p = probs.sample(i);
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
