//! The training loop: [`fit`], [`evaluate`] and one [`train_step`].

mod gradients;
mod history;
mod progress;

pub(crate) use gradients::trainable_params;
pub use gradients::{gradients, Gradients, Mode, NamedGrad};
pub use history::{EpochStats, History};

use crate::data::standardize::far_from_unit_scale;
use crate::data::Dataset;
use crate::layers::{Layer, TrainCtx};
use crate::loss::Loss;
use crate::markers::{BatchFor, DataFor, Fits, Trainable};
use crate::model::Model;
use crate::ops::Backend;
use crate::optim::{LrSchedule, Optimizer};
use crate::param::Param;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{Error, Result};
use progress::EpochBar;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

/// Stop when the monitored loss has not improved by `min_delta` for
/// `patience` epochs.
#[derive(Debug, Clone, Copy)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The least decrease of the monitored loss that counts as improvement.
    pub min_delta: f32,
    /// Put back the weights of the best epoch when training ends.
    pub restore_best: bool,
}

/// Settings for [`fit`], built up from [`FitConfig::new`].
pub struct FitConfig {
    /// Epochs to train for at most.
    pub epochs: usize,
    /// Samples per mini-batch.
    pub batch_size: usize,
    /// Seed for shuffling and dropout.
    pub seed: u64,
    /// Stop when the monitored loss stops improving.
    pub early_stopping: Option<EarlyStopping>,
    /// Save the weights here whenever the monitored loss improves.
    pub checkpoint: Option<PathBuf>,
    /// Print one line per epoch, and a progress bar when stderr is a
    /// terminal.
    pub verbose: bool,
    /// How the learning rate changes from epoch to epoch.
    pub schedule: Option<Box<dyn LrSchedule>>,
}

impl FitConfig {
    /// `epochs` epochs of `batch_size` samples, seed 0, verbose, no early stopping, checkpoint or schedule.
    pub fn new(epochs: usize, batch_size: usize) -> Self {
        FitConfig {
            epochs,
            batch_size,
            seed: 0,
            early_stopping: None,
            checkpoint: None,
            verbose: true,
            schedule: None,
        }
    }
    /// The seed of the shuffles and dropout masks.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Early stopping with `patience`, restoring the best weights at the end.
    pub fn early_stopping(mut self, patience: usize) -> Self {
        self.early_stopping = Some(EarlyStopping {
            patience,
            min_delta: 0.0,
            restore_best: true,
        });
        self
    }
    /// Early stopping with every option given.
    pub fn early_stopping_with(mut self, es: EarlyStopping) -> Self {
        self.early_stopping = Some(es);
        self
    }
    /// Save the best weights to `path` whenever the monitored loss improves.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }
    /// Show the progress bar (when standard error is a terminal) and print warnings.
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }
    /// Change the learning rate each epoch by `schedule`.
    pub fn schedule(mut self, schedule: impl LrSchedule + 'static) -> Self {
        self.schedule = Some(Box::new(schedule));
        self
    }
}

/// Mean loss and accuracy over a dataset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss per sample.
    pub loss: f32,
    /// Fraction of samples classified right, for losses that have an accuracy.
    pub accuracy: Option<f32>,
}

/// Device-side running sums for an epoch, read once at its end.
struct Sums<B: Backend> {
    loss: B::Buf,
    hits: B::Buf,
    samples: usize,
}

impl<B: Backend> Sums<B> {
    fn new(dev: &B) -> Result<Self> {
        Ok(Sums {
            loss: dev.zeros(1)?,
            hits: dev.zeros(1)?,
            samples: 0,
        })
    }

    fn reset(&mut self, dev: &B) -> Result<()> {
        dev.fill(&mut self.loss, 0.0)?;
        dev.fill(&mut self.hits, 0.0)?;
        self.samples = 0;
        Ok(())
    }

    fn read(&self, dev: &B, accuracy: bool) -> Result<Evaluation> {
        let n = self.samples.max(1) as f32;
        Ok(Evaluation {
            loss: dev.read(&self.loss)?[0] / n,
            accuracy: if accuracy {
                Some(dev.read(&self.hits)?[0] / n)
            } else {
                None
            },
        })
    }
}

/// Accumulate a batch's loss (and hits) into `sums`; write the loss
/// gradient into `grad` when given.
fn score<B: Backend, S: Shape, L: Loss<S>>(
    loss: &L,
    pred: &Tensor<B, S>,
    target: &Tensor<B, L::Target>,
    grad: Option<&mut Tensor<B, S>>,
    sums: &mut Sums<B>,
) -> Result<()> {
    loss.accumulate(pred, target, grad, &mut sums.loss)?;
    if loss.has_accuracy() {
        loss.count_correct(pred, target, &mut sums.hits)?;
    }
    let rows = pred.batch();
    sums.samples += rows;
    Ok(())
}

/// What a training step reuses from one step to the next: the model's
/// layer states, the loss gradient and the parameter gradients. Make one
/// per model and pass it to every [`train_step`].
pub struct StepBuffers<B: Backend, M: Layer<B>> {
    state: M::State,
    dout: Option<Tensor<B, M::Output>>,
    grads: M::Grads,
    sums: Sums<B>,
}

impl<B: Backend, M: Layer<B>> StepBuffers<B, M> {
    /// Buffers sized for `model` on `dev`.
    pub fn new(model: &M, dev: &B) -> Result<Self> {
        Ok(StepBuffers {
            state: M::State::default(),
            dout: None,
            grads: model.zero_grads(dev)?,
            sums: Sums::new(dev)?,
        })
    }

    /// The parameter gradients of the last step.
    pub fn grads(&self) -> &M::Grads {
        &self.grads
    }

    /// The mean loss per sample of the steps since the last call (or since
    /// the buffers were made), read from the device; the sum starts again.
    pub fn mean_loss(&mut self, dev: &B) -> Result<f32> {
        let loss = self.sums.read(dev, false)?.loss;
        self.sums.reset(dev)?;
        Ok(loss)
    }
}

/// One optimisation step on one batch: forward, loss, backward, update.
/// Returns the batch-mean loss (reading it from the device).
pub fn train_step<B, M, L, O, X, Y>(
    model: &mut M,
    opt: &mut O,
    loss: &L,
    x: &X,
    y: &Y,
    buffers: &mut StepBuffers<B, M>,
    ctx: &mut TrainCtx,
) -> Result<f32>
where
    B: Backend,
    M: Model<B>,
    L: Loss<M::Output>,
    M::Head: Fits<L>,
    M::Backprop: Trainable,
    O: Optimizer<B>,
    X: BatchFor<B, M::Input> + ?Sized,
    Y: BatchFor<B, L::Target> + ?Sized,
{
    let (x, y) = (x.tensor(), y.tensor());
    buffers.sums.reset(x.device())?;
    train_step_deferred(model, opt, loss, x, y, buffers, ctx)?;
    buffers.mean_loss(x.device())
}

/// One optimisation step that leaves its loss on the device, added to a
/// running sum in `buffers`: nothing is read back, so on a GPU the host
/// queues the step's kernels and moves on. Read the mean loss of the steps
/// so far with [`StepBuffers::mean_loss`].
pub fn train_step_deferred<B, M, L, O, X, Y>(
    model: &mut M,
    opt: &mut O,
    loss: &L,
    x: &X,
    y: &Y,
    buffers: &mut StepBuffers<B, M>,
    ctx: &mut TrainCtx,
) -> Result<()>
where
    B: Backend,
    M: Model<B>,
    L: Loss<M::Output>,
    M::Head: Fits<L>,
    M::Backprop: Trainable,
    O: Optimizer<B>,
    X: BatchFor<B, M::Input> + ?Sized,
    Y: BatchFor<B, L::Target> + ?Sized,
{
    let (x, y) = (x.tensor(), y.tensor());
    let out = model.forward_train(x, &mut buffers.state, ctx)?;
    let dout = Tensor::reuse(&mut buffers.dout, x.device(), x.batch())?;
    score(loss, out, y, Some(&mut *dout), &mut buffers.sums)?;
    model.backward_params(x, dout, &mut buffers.state, &mut buffers.grads)?;
    opt.step(model, &buffers.grads)
}

/// Mini-batches on the device, gathered through host vectors; both the
/// host vectors and the device tensors are reused from batch to batch.
struct Loader<B: Backend, X: Shape, Y: Shape> {
    host_x: Vec<f32>,
    host_y: Vec<f32>,
    x: Option<Tensor<B, X>>,
    y: Option<Tensor<B, Y>>,
}

impl<B: Backend, X: Shape, Y: Shape> Loader<B, X, Y> {
    fn new() -> Self {
        Loader {
            host_x: Vec::new(),
            host_y: Vec::new(),
            x: None,
            y: None,
        }
    }

    /// The samples at `indices` as device tensors.
    #[allow(clippy::type_complexity)] // a pair of references, read at a glance
    fn load(
        &mut self,
        dev: &B,
        data: &Dataset<X, Y>,
        indices: &[usize],
    ) -> Result<(&Tensor<B, X>, &Tensor<B, Y>)> {
        data.gather(indices, &mut self.host_x, &mut self.host_y);
        let x = Tensor::reuse(&mut self.x, dev, indices.len())?;
        dev.write(x.buf_mut(), &self.host_x)?;
        let y = Tensor::reuse(&mut self.y, dev, indices.len())?;
        dev.write(y.buf_mut(), &self.host_y)?;
        Ok((x, y))
    }
}

/// Mean loss (and accuracy) of `model` over `data`, in inference mode.
pub fn evaluate<B, M, L, D>(model: &M, loss: &L, data: &D, batch_size: usize) -> Result<Evaluation>
where
    B: Backend,
    M: Model<B>,
    L: Loss<M::Output>,
    M::Head: Fits<L>,
    D: DataFor<M::Input, L::Target> + ?Sized,
{
    let data = data.dataset();
    if batch_size == 0 {
        return Err(Error::config("batch size", "must be at least 1"));
    }
    let dev = model.device();
    let mut sums = Sums::new(dev)?;
    let mut state = M::State::default();
    let mut loader = Loader::new();
    let order: Vec<usize> = (0..data.len()).collect();
    for indices in order.chunks(batch_size) {
        let (x, y) = loader.load(dev, data, indices)?;
        score(loss, model.infer(x, &mut state)?, y, None, &mut sums)?;
    }
    sums.read(dev, loss.has_accuracy())
}

/// The network's outputs for every sample of `inputs` (samples one after
/// another, as [`Dataset::inputs`] holds them), in inference mode,
/// `batch_size` samples per pass: `M::Output::SIZE` values per sample, in
/// order. Works on any device; the buffers of one pass are reused by the
/// next.
///
/// ```
/// use staticnn_runtime::layers::Dense;
/// use staticnn_runtime::{predict, predict_classes, Cpu, Init, Rng};
///
/// let layer = Dense::<Cpu, 2, 3>::init(&Cpu, &mut Rng::new(0), Init::GlorotUniform, true)?;
/// let inputs = vec![0.5; 2 * 1000]; // 1,000 samples
/// assert_eq!(predict(&layer, &Cpu, &inputs, 256)?.len(), 3 * 1000);
/// assert_eq!(predict_classes(&layer, &Cpu, &inputs, 256)?.len(), 1000);
/// # Ok::<(), staticnn_runtime::Error>(())
/// ```
pub fn predict<B, M>(model: &M, dev: &B, inputs: &[f32], batch_size: usize) -> Result<Vec<f32>>
where
    B: Backend,
    M: Layer<B>,
{
    let mut out = Vec::with_capacity(inputs.len() / M::Input::SIZE * M::Output::SIZE);
    for_each_batch(model, dev, inputs, batch_size, |y| {
        out.extend_from_slice(y);
        Ok(())
    })?;
    Ok(out)
}

/// The predicted class (the index of the largest output) of every sample
/// of `inputs`, as [`predict`] computes the outputs.
pub fn predict_classes<B, M>(
    model: &M,
    dev: &B,
    inputs: &[f32],
    batch_size: usize,
) -> Result<Vec<usize>>
where
    B: Backend,
    M: Layer<B>,
{
    let mut out = Vec::with_capacity(inputs.len() / M::Input::SIZE);
    for_each_batch(model, dev, inputs, batch_size, |y| {
        out.extend(
            y.chunks_exact(M::Output::SIZE)
                .map(crate::ops::loss::argmax),
        );
        Ok(())
    })?;
    Ok(out)
}

/// Run `model` over `inputs` in batches, handing each batch's outputs (on
/// the host) to `f`.
fn for_each_batch<B, M>(
    model: &M,
    dev: &B,
    inputs: &[f32],
    batch_size: usize,
    mut f: impl FnMut(&[f32]) -> Result<()>,
) -> Result<()>
where
    B: Backend,
    M: Layer<B>,
{
    if batch_size == 0 {
        return Err(Error::config("batch size", "must be at least 1"));
    }
    let size = M::Input::SIZE;
    if !inputs.len().is_multiple_of(size) {
        return Err(Error::config(
            "inputs",
            format!(
                "{} values are not whole samples of shape {:?} ({size} values each)",
                inputs.len(),
                M::Input::DIMS
            ),
        ));
    }
    let mut state = M::State::default();
    let mut x: Option<Tensor<B, M::Input>> = None;
    for chunk in inputs.chunks(batch_size * size) {
        let x = Tensor::reuse(&mut x, dev, chunk.len() / size)?;
        dev.write(x.buf_mut(), chunk)?;
        let y = model.infer(x, &mut state)?;
        f(&dev.read(y.buf())?)?;
    }
    Ok(())
}

/// Fail before training starts, not halfway through an epoch, when a class
/// label cannot index the network's outputs.
fn check_labels<S: Shape, L: Loss<S>, X: Shape>(
    loss: &L,
    data: &Dataset<X, L::Target>,
) -> Result<()> {
    loss.check_targets(data.targets())
}

fn snapshot<B: Backend, M: Layer<B>>(model: &M) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::new();
    model.visit_params("", &mut |_, p: &Param<B>| {
        out.push(p.to_vec()?);
        Ok(())
    })?;
    Ok(out)
}

fn restore<B: Backend, M: Layer<B>>(model: &mut M, values: &[Vec<f32>]) -> Result<()> {
    let mut it = values.iter();
    model.visit_params_mut("", &mut |_, p| match it.next() {
        Some(v) => p.set(v),
        None => Ok(()),
    })
}

/// The name of the first parameter of `model` holding NaN or an infinity.
fn first_non_finite<B: Backend, M: Layer<B>>(model: &M) -> Result<Option<String>> {
    let mut found = None;
    model.visit_params("", &mut |name, p| {
        if found.is_none() && p.to_vec()?.iter().any(|v| !v.is_finite()) {
            found = Some(name.to_string());
        }
        Ok(())
    })?;
    Ok(found)
}

/// The largest feature mean or deviation (in magnitude) that `fit` does
/// not warn about. Pixels in 0..1 and standardised features stay far below
/// it; pixels in 0..255 and most raw tabular data do not.
const UNIT_SCALE_LIMIT: f32 = 10.0;

/// Train `model` on `train` for `cfg.epochs` epochs of shuffled
/// mini-batches, validating on `val` after each epoch.
///
/// Returns the [`History`]. Stops early when configured; saves the best
/// weights to `cfg.checkpoint` when given; fails with
/// [`Error::Diverged`] if the loss or any parameter stops being a finite
/// number (checked after every epoch).
pub fn fit<B, M, L, O, D>(
    model: &mut M,
    opt: &mut O,
    loss: &L,
    train: &D,
    val: Option<&D>,
    cfg: &FitConfig,
) -> Result<History>
where
    B: Backend,
    M: Model<B>,
    L: Loss<M::Output>,
    M::Head: Fits<L>,
    M::Backprop: Trainable,
    O: Optimizer<B>,
    D: DataFor<M::Input, L::Target> + ?Sized,
{
    let (train, val) = (train.dataset(), val.map(DataFor::dataset));
    if cfg.batch_size == 0 {
        return Err(Error::config("batch size", "must be at least 1"));
    }
    if train.is_empty() {
        return Err(Error::config("training set", "is empty"));
    }
    check_labels::<M::Output, L, _>(loss, train)?;
    if let Some(val) = val {
        if val.is_empty() {
            return Err(Error::config(
                "validation set",
                "is empty; pass None to train without one",
            ));
        }
        check_labels::<M::Output, L, _>(loss, val)?;
    }

    let dev = model.device().clone();
    let mut rng = Rng::new(cfg.seed);
    let mut ctx = TrainCtx::new(cfg.seed ^ 0x5EED);
    let mut buffers = StepBuffers::new(model, &dev)?;
    let mut loader = Loader::new();
    let mut order: Vec<usize> = (0..train.len()).collect();
    let base_lr = opt.lr();
    let mut history = History::default();
    if let Some(warning) = far_from_unit_scale(train, UNIT_SCALE_LIMIT) {
        if cfg.verbose {
            eprintln!("warning: {warning}");
        }
        history.warnings.push(warning);
    }
    let mut best = f32::INFINITY;
    let mut best_weights = None;
    let mut since_best = 0;
    let show_bar = cfg.verbose && std::io::stderr().is_terminal();

    for epoch in 0..cfg.epochs {
        let started = Instant::now();
        let lr = cfg
            .schedule
            .as_ref()
            .map_or(base_lr, |s| s.lr(epoch, base_lr));
        opt.set_lr(lr);
        // Each epoch shuffles the identity permutation afresh, so a seed
        // fixes every epoch's order independently of the previous ones.
        order.iter_mut().enumerate().for_each(|(i, v)| *v = i);
        rng.shuffle(&mut order);
        let batches = order.chunks(cfg.batch_size);
        let bar = EpochBar::new(show_bar, epoch, cfg.epochs, batches.len());
        buffers.sums.reset(&dev)?;
        for indices in batches {
            let (x, y) = loader.load(&dev, train, indices)?;
            train_step_deferred(model, opt, loss, x, y, &mut buffers, &mut ctx)?;
            bar.inc();
        }
        bar.finish();
        let train_eval = buffers.sums.read(&dev, loss.has_accuracy())?;
        if !train_eval.loss.is_finite() {
            return Err(Error::Diverged {
                epoch: epoch + 1,
                loss: train_eval.loss,
                tensor: None,
            });
        }
        // A finite loss does not prove finite weights: ReLU's `max` maps
        // NaN to 0, so a NaN weight can hide behind it. One pass over the
        // parameters per epoch (a copy to the host) catches it before
        // `save` would write it.
        if let Some(name) = first_non_finite(model)? {
            return Err(Error::Diverged {
                epoch: epoch + 1,
                loss: train_eval.loss,
                tensor: Some(name),
            });
        }
        let val_eval = val
            .map(|v| evaluate(model, loss, v, cfg.batch_size))
            .transpose()?;
        let stats = EpochStats {
            epoch: epoch + 1,
            train_loss: train_eval.loss,
            train_accuracy: train_eval.accuracy,
            val_loss: val_eval.map(|e| e.loss),
            val_accuracy: val_eval.and_then(|e| e.accuracy),
            lr,
            seconds: started.elapsed().as_secs_f32(),
        };
        if cfg.verbose {
            eprintln!("{}", describe(&stats, cfg.epochs));
        }
        history.epochs.push(stats);

        let monitored = val_eval.map_or(train_eval.loss, |e| e.loss);
        let min_delta = cfg.early_stopping.map_or(0.0, |e| e.min_delta);
        if monitored < best - min_delta {
            best = monitored;
            since_best = 0;
            history.best_epoch = Some(epoch + 1);
            if let Some(path) = &cfg.checkpoint {
                model.save(path)?;
            }
            if cfg.early_stopping.is_some_and(|e| e.restore_best) {
                best_weights = Some(snapshot(model)?);
            }
        } else {
            since_best += 1;
        }
        if let Some(es) = cfg.early_stopping {
            if since_best >= es.patience.max(1) && epoch + 1 < cfg.epochs {
                history.stopped_early = true;
                if cfg.verbose {
                    eprintln!("early stopping: no improvement for {since_best} epochs");
                }
                break;
            }
        }
    }
    if let Some(weights) = best_weights {
        restore(model, &weights)?;
    }
    opt.set_lr(base_lr);
    Ok(history)
}

fn describe(s: &EpochStats, epochs: usize) -> String {
    let mut line = format!("epoch {}/{}: loss {:.4}", s.epoch, epochs, s.train_loss);
    if let Some(a) = s.train_accuracy {
        line += &format!(", accuracy {a:.4}");
    }
    if let Some(l) = s.val_loss {
        line += &format!(", val_loss {l:.4}");
    }
    if let Some(a) = s.val_accuracy {
        line += &format!(", val_accuracy {a:.4}");
    }
    line + &format!(" ({:.2}s)", s.seconds)
}
