//! A deep autoencoder (784-1000-500-250-2 and back, after Hinton and
//! Salakhutdinov, 2006) on the bundled MNIST digits, pretrained greedily
//! layer by layer and then fine-tuned as a whole. It prints the
//! reconstruction error after each phase and draws the 2-D codes of all
//! 5,000 digits, coloured by class.
//!
//! ```text
//! cargo run --release --example autoencoder
//! ```
//!
//! Each pretraining stage is a shallow autoencoder of its own (`Stage1`
//! to `Stage4`), trained to reconstruct the features of the stage below.
//! Their trained layers then move into the deep network with
//! `copy_weights_from`: `ae.encoder.fc2.copy_weights_from(&stage2.enc)`.
//! Each move is between layers of one type, so a layer of the wrong shape
//! (say `stage3.enc` into `encoder.fc2`) does not compile.
//!
//! Writes `autoencoder_codes.png` (the scatter plot),
//! `autoencoder.history.png` (the fine-tuning curves) and
//! `autoencoder.safetensors`.

mod common;

use staticnn::layers::Dense;
use staticnn::plot::scatter_2d;
use staticnn::prelude::*;

network! {
    /// 784 pixels down to a 2-D code.
    pub struct Encoder: [784] {
        fc1: Dense(1000), Relu,
        fc2: Dense(500), Relu,
        fc3: Dense(250), Relu,
        code: Dense(2),
    }

    /// The mirror image: a 2-D code back up to 784 pixel intensities.
    pub struct Decoder: [2] {
        fc1: Dense(250), Relu,
        fc2: Dense(500), Relu,
        fc3: Dense(1000), Relu,
        out: Dense(784), Sigmoid,
    }

    pub struct Autoencoder: [784] { encoder: Encoder, decoder: Decoder }

    /// Greedy pretraining, one shallow autoencoder per layer: pixels...
    pub struct Stage1: [784] { enc: Dense(1000), Relu, dec: Dense(784), Sigmoid }
    /// ...then the features of the stage below, reconstructed linearly...
    pub struct Stage2: [1000] { enc: Dense(500), Relu, dec: Dense(1000) }
    pub struct Stage3: [500] { enc: Dense(250), Relu, dec: Dense(500) }
    /// ...down to the linear 2-D code.
    pub struct Stage4: [250] { enc: Dense(2), dec: Dense(250) }
}

const SEED: u64 = 42;
const BATCH: usize = 64;

/// Train a shallow or deep autoencoder on `data` (inputs are targets).
fn train<M, L, const N: usize, const O: usize>(
    what: &str,
    net: &mut M,
    loss: &L,
    data: &Dataset<Rank1<N>, Rank1<O>>,
    val: Option<&Dataset<Rank1<N>, Rank1<O>>>,
    (epochs, lr): (usize, f32),
) -> Result<History>
where
    M: Model<Cpu, Input = Rank1<N>, Output = Rank1<O>> + TrainsWith<Cpu, L>,
    L: Loss<Rank1<O>, Target = Rank1<O>>,
{
    let start = std::time::Instant::now();
    let mut opt = Adam::new(lr);
    let cfg = FitConfig::new(epochs, BATCH)
        .seed(SEED)
        .verbose(false)
        .schedule(CosineAnnealing {
            t_max: epochs,
            eta_min: lr * 0.1,
        });
    let history = fit(net, &mut opt, loss, data, val, &cfg)?;
    let last = history.last().map_or(f32::NAN, |e| e.train_loss);
    println!(
        "{what}: {epochs} epochs, training loss {last:.4} ({:.1} s)",
        start.elapsed().as_secs_f64()
    );
    Ok(history)
}

/// `relu(layer(x))` for every sample: the features the next stage learns
/// to reconstruct.
fn features<const I: usize, const O: usize>(
    layer: &Dense<Cpu, I, O>,
    inputs: &[f32],
) -> Result<Dataset<Rank1<O>, Rank1<O>>> {
    let x = Tensor::<Cpu, Rank1<I>>::from_slice(&Cpu, inputs)?;
    let mut h = Layer::<Cpu>::forward(layer, &x)?.to_vec()?;
    h.iter_mut().for_each(|v| *v = v.max(0.0));
    Dataset::new(h.clone(), h)
}

/// Mean squared reconstruction error per pixel.
fn reconstruction(ae: &Autoencoder, data: &Dataset<Rank1<784>, Rank1<784>>) -> Result<f32> {
    Ok(evaluate(ae, &Mse, data, 500)?.loss)
}

/// Pretrain a deep autoencoder layer by layer, fine-tune it, and plot the
/// 2-D codes of the bundled digits.
#[derive(clap::Parser)]
#[command(about)]
struct Cli {
    /// Epochs of fine-tuning the whole network after pretraining.
    #[arg(long, default_value_t = 40)]
    epochs: usize,
}

fn main() -> std::process::ExitCode {
    let cli = <Cli as clap::Parser>::parse();
    common::exit_code(pretrain_and_fine_tune(cli.epochs))
}

fn pretrain_and_fine_tune(
    fine_tune_epochs: usize,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let digits = common::bundled::<Rank1<784>>()?;
    let pixels = digits.inputs().to_vec();
    let images = Dataset::<Rank1<784>, Rank1<784>>::new(pixels.clone(), pixels.clone())?;
    let (train_set, val_set) = images.split(0.2, SEED)?;
    println!(
        "bundled MNIST subset: {} digits, {} for training and {} held out",
        images.len(),
        train_set.len(),
        val_set.len()
    );
    let train_pixels = train_set.inputs().to_vec();

    // Greedy layer-wise pretraining: each stage learns to reconstruct the
    // features of the one below.
    let mut stage1 = Stage1::init(&Cpu, SEED)?;
    train(
        "stage 1 (784-1000-784)",
        &mut stage1,
        &BinaryCrossEntropy,
        &train_set,
        None,
        (6, 1e-3),
    )?;
    let h1 = features(&stage1.enc, &train_pixels)?;
    let mut stage2 = Stage2::init(&Cpu, SEED)?;
    train(
        "stage 2 (1000-500-1000)",
        &mut stage2,
        &Mse,
        &h1,
        None,
        (6, 1e-3),
    )?;
    let h2 = features(&stage2.enc, h1.inputs())?;
    let mut stage3 = Stage3::init(&Cpu, SEED)?;
    train(
        "stage 3 (500-250-500)",
        &mut stage3,
        &Mse,
        &h2,
        None,
        (6, 1e-3),
    )?;
    let h3 = features(&stage3.enc, h2.inputs())?;
    let mut stage4 = Stage4::init(&Cpu, SEED)?;
    train(
        "stage 4 (250-2-250)",
        &mut stage4,
        &Mse,
        &h3,
        None,
        (10, 1e-3),
    )?;

    // Stack the trained layers into the deep autoencoder: encoders in
    // order, decoders mirrored. The types check every shape.
    let mut ae = Autoencoder::init(&Cpu, SEED)?;
    ae.encoder.fc1.copy_weights_from(&stage1.enc)?;
    ae.encoder.fc2.copy_weights_from(&stage2.enc)?;
    ae.encoder.fc3.copy_weights_from(&stage3.enc)?;
    ae.encoder.code.copy_weights_from(&stage4.enc)?;
    ae.decoder.fc1.copy_weights_from(&stage4.dec)?;
    ae.decoder.fc2.copy_weights_from(&stage3.dec)?;
    ae.decoder.fc3.copy_weights_from(&stage2.dec)?;
    ae.decoder.out.copy_weights_from(&stage1.dec)?;
    let pretrained = reconstruction(&ae, &val_set)?;
    println!("\n{}\n", ae.summary());

    // Fine-tune the whole network end to end.
    let history = train(
        "fine-tuning (784-1000-500-250-2-250-500-1000-784)",
        &mut ae,
        &BinaryCrossEntropy,
        &train_set,
        Some(&val_set),
        (fine_tune_epochs, 1e-3),
    )?;
    let tuned = reconstruction(&ae, &val_set)?;
    println!(
        "\nreconstruction error (mean squared, per pixel) on {} held-out digits: {pretrained:.4} after pretraining alone, {tuned:.4} after fine-tuning",
        val_set.len()
    );

    // The 2-D codes of every bundled digit, coloured by class.
    let x = Tensor::<Cpu, Rank1<784>>::from_vec(&Cpu, pixels)?;
    let codes = ae.encoder.forward(&x)?.to_vec()?;
    let points: Vec<[f32; 2]> = codes.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
    let labels: Vec<usize> = digits.targets().iter().map(|&l| l as usize).collect();
    scatter_2d(
        &points,
        &labels,
        "2-D codes of 5,000 MNIST digits (784-1000-500-250-2 autoencoder)",
        "autoencoder_codes.png",
    )?;
    history.save_plot("autoencoder.history.png")?;
    ae.save("autoencoder.safetensors")?;
    println!("wrote autoencoder_codes.png, autoencoder.history.png and autoencoder.safetensors");
    Ok(())
}
