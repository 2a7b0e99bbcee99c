//! Loss functions.
//!
//! Each built-in loss is a unit type running a fused kernel of
//! [`ops::loss`](crate::ops::loss); the trait fixes which target shape it
//! takes, so a classification loss given one-hot vectors, or a regression
//! loss given class indices, is a compile error. Losses of your own
//! implement [`Loss`] or, when they are a mean over values,
//! [`PointwiseLoss`].

use crate::ops::loss::LossKind;
use crate::ops::Backend;
use crate::shape::{ClassIndex, Rank1, Shape};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// A loss over predictions of shape `S`, averaged over the batch.
///
/// The built-in losses run fused kernels on the device. A loss of your own
/// implements [`accumulate`](Loss::accumulate) (and, for classification,
/// [`count_correct`](Loss::count_correct)); one that is a mean over values
/// of a function of each prediction and its target, like Huber's,
/// implements [`PointwiseLoss`] instead and gets this trait for every
/// shape. Either works with `fit`, `evaluate`, the training steps and the
/// gradient checker.
pub trait Loss<S: Shape>: Send + Sync {
    /// Shape of one target: `S` itself for regression, [`ClassIndex`] for
    /// classification.
    type Target: Shape;

    /// Adds the sum over the batch of each sample's loss to `sum` (one
    /// value on the device, so that a training loop can add up a whole
    /// epoch there) and, when `grad` is given, writes into it the gradient
    /// of the batch-mean loss with respect to `pred`.
    fn accumulate<B: Backend>(
        &self,
        pred: &Tensor<B, S>,
        target: &Tensor<B, Self::Target>,
        grad: Option<&mut Tensor<B, S>>,
        sum: &mut B::Buf,
    ) -> Result<()>;

    /// Whether accuracy means something for this loss (and `fit` should
    /// report it, from [`count_correct`](Loss::count_correct)).
    fn has_accuracy(&self) -> bool {
        false
    }

    /// Adds the number of correct predictions in the batch to `hits` (one
    /// value on the device). Called only when
    /// [`has_accuracy`](Loss::has_accuracy) says so.
    fn count_correct<B: Backend>(
        &self,
        pred: &Tensor<B, S>,
        target: &Tensor<B, Self::Target>,
        hits: &mut B::Buf,
    ) -> Result<()> {
        let _ = (pred, target, hits);
        Ok(())
    }

    /// Refuses targets the loss cannot use (a class label out of range),
    /// so that `fit` fails before training rather than halfway through an
    /// epoch.
    fn check_targets(&self, targets: &[f32]) -> Result<()> {
        let _ = targets;
        Ok(())
    }

    /// The batch-mean loss.
    fn value<B: Backend>(
        &self,
        pred: &Tensor<B, S>,
        target: &Tensor<B, Self::Target>,
    ) -> Result<f32> {
        batch_mean(self, pred, target, None)
    }

    /// The batch-mean loss and its gradient with respect to `pred`.
    fn value_and_grad<B: Backend>(
        &self,
        pred: &Tensor<B, S>,
        target: &Tensor<B, Self::Target>,
    ) -> Result<(f32, Tensor<B, S>)> {
        let mut grad = pred.zeros_like_batch()?;
        let value = batch_mean(self, pred, target, Some(&mut grad))?;
        Ok((value, grad))
    }
}

/// Run a loss on one batch and read the mean back.
fn batch_mean<B: Backend, S: Shape, L: Loss<S> + ?Sized>(
    loss: &L,
    pred: &Tensor<B, S>,
    target: &Tensor<B, L::Target>,
    grad: Option<&mut Tensor<B, S>>,
) -> Result<f32> {
    check_batch(pred, target)?;
    let dev = pred.device();
    let mut sum = dev.zeros(1)?;
    loss.accumulate(pred, target, grad, &mut sum)?;
    Ok(dev.read(&sum)?[0] / pred.batch() as f32)
}

/// A built-in loss: its fused kernel, on any device.
fn fused<B: Backend, S: Shape, T: Shape>(
    kind: LossKind,
    pred: &Tensor<B, S>,
    target: &Tensor<B, T>,
    grad: Option<&mut Tensor<B, S>>,
    sum: &mut B::Buf,
) -> Result<()> {
    check_batch(pred, target)?;
    let buf = grad.map(Tensor::buf_mut);
    pred.device().loss(
        kind,
        pred.batch(),
        S::SIZE,
        pred.buf(),
        target.buf(),
        buf,
        sum,
    )
}

fn fused_hits<B: Backend, S: Shape, T: Shape>(
    kind: LossKind,
    pred: &Tensor<B, S>,
    target: &Tensor<B, T>,
    hits: &mut B::Buf,
) -> Result<()> {
    check_batch(pred, target)?;
    pred.device()
        .count_correct(kind, pred.batch(), S::SIZE, pred.buf(), target.buf(), hits)
}

/// A loss that is the mean, over every value of a sample, of a function of
/// one prediction and its target (as PyTorch's `HuberLoss`, `L1Loss` and
/// `SmoothL1Loss`). Implement the function and its derivative; the type
/// then is a [`Loss`] for every shape, with targets shaped like the
/// predictions.
///
/// It runs on the host: on a GPU, each batch's predictions are copied to
/// the host and the gradient back, which the built-in losses avoid.
///
/// ```
/// use staticnn_runtime::loss::PointwiseLoss;
///
/// /// Huber's loss with threshold 1 (PyTorch's `HuberLoss()`).
/// struct Huber;
///
/// impl PointwiseLoss for Huber {
///     fn value(&self, pred: f32, target: f32) -> f32 {
///         let d = (pred - target).abs();
///         if d < 1.0 { 0.5 * d * d } else { d - 0.5 }
///     }
///     fn derivative(&self, pred: f32, target: f32) -> f32 {
///         (pred - target).clamp(-1.0, 1.0)
///     }
/// }
/// ```
pub trait PointwiseLoss: Send + Sync {
    /// The loss of one value.
    fn value(&self, pred: f32, target: f32) -> f32;

    /// Its derivative with respect to `pred`.
    fn derivative(&self, pred: f32, target: f32) -> f32;
}

impl<L: PointwiseLoss, S: Shape> Loss<S> for L {
    type Target = S;

    fn accumulate<B: Backend>(
        &self,
        pred: &Tensor<B, S>,
        target: &Tensor<B, S>,
        grad: Option<&mut Tensor<B, S>>,
        sum: &mut B::Buf,
    ) -> Result<()> {
        check_batch(pred, target)?;
        let dev = pred.device();
        let (p, t) = (dev.read(pred.buf())?, dev.read(target.buf())?);
        // Mean over each sample's values, summed over samples; the
        // gradient is that of the mean over the batch too.
        let per_value = 1.0 / S::SIZE as f64;
        let total: f64 = p
            .iter()
            .zip(t.iter())
            .map(|(&p, &t)| PointwiseLoss::value(self, p, t) as f64 * per_value)
            .sum();
        if let Some(grad) = grad {
            let scale = 1.0 / (S::SIZE * pred.batch().max(1)) as f32;
            // One vector per thread, kept from step to step, so that a
            // training step allocates nothing here after the first.
            thread_local! {
                static GRAD: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
            }
            GRAD.with_borrow_mut(|g| {
                g.clear();
                g.extend(
                    p.iter()
                        .zip(t.iter())
                        .map(|(&p, &t)| self.derivative(p, t) * scale),
                );
                dev.write(grad.buf_mut(), g)
            })?;
        }
        let before = dev.read(sum)?[0];
        dev.write(sum, &[before + total as f32])
    }
}

pub(crate) fn check_batch<B: Backend, S: Shape, T: Shape>(
    pred: &Tensor<B, S>,
    target: &Tensor<B, T>,
) -> Result<()> {
    if pred.batch() != target.batch() {
        return Err(Error::BatchMismatch {
            op: "loss (predictions vs targets)",
            left: pred.batch(),
            right: target.batch(),
        });
    }
    Ok(())
}

/// Mean squared error over every value (PyTorch `MSELoss()`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Mse;

impl crate::markers::TakesSoftmaxOutput for Mse {}
impl crate::markers::TakesSigmoidOutput for Mse {}

impl<S: Shape> Loss<S> for Mse {
    type Target = S;
    fn accumulate<B: Backend>(
        &self,
        pred: &Tensor<B, S>,
        target: &Tensor<B, S>,
        grad: Option<&mut Tensor<B, S>>,
        sum: &mut B::Buf,
    ) -> Result<()> {
        fused(LossKind::Mse, pred, target, grad, sum)
    }
}

/// Softmax followed by cross-entropy against class indices, fused and
/// numerically stable (PyTorch `CrossEntropyLoss()` on logits). The network
/// should end in logits, not in a Softmax layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftmaxCrossEntropy;

impl<const N: usize> Loss<Rank1<N>> for SoftmaxCrossEntropy {
    type Target = ClassIndex;
    fn accumulate<B: Backend>(
        &self,
        pred: &Tensor<B, Rank1<N>>,
        target: &Tensor<B, ClassIndex>,
        grad: Option<&mut Tensor<B, Rank1<N>>>,
        sum: &mut B::Buf,
    ) -> Result<()> {
        fused(LossKind::SoftmaxCrossEntropy, pred, target, grad, sum)
    }
    fn has_accuracy(&self) -> bool {
        true
    }
    fn count_correct<B: Backend>(
        &self,
        pred: &Tensor<B, Rank1<N>>,
        target: &Tensor<B, ClassIndex>,
        hits: &mut B::Buf,
    ) -> Result<()> {
        fused_hits(LossKind::SoftmaxCrossEntropy, pred, target, hits)
    }
    fn check_targets(&self, targets: &[f32]) -> Result<()> {
        targets
            .iter()
            .try_for_each(|&label| crate::ops::loss::class_of(label, N).map(drop))
    }
}

/// Binary cross-entropy of probabilities (a Sigmoid output) against 0/1
/// targets, averaged over every value (PyTorch `BCELoss()`).
#[derive(Debug, Clone, Copy, Default)]
pub struct BinaryCrossEntropy;

impl crate::markers::TakesSoftmaxOutput for BinaryCrossEntropy {}
impl crate::markers::TakesSigmoidOutput for BinaryCrossEntropy {}

impl<S: Shape> Loss<S> for BinaryCrossEntropy {
    type Target = S;
    fn accumulate<B: Backend>(
        &self,
        pred: &Tensor<B, S>,
        target: &Tensor<B, S>,
        grad: Option<&mut Tensor<B, S>>,
        sum: &mut B::Buf,
    ) -> Result<()> {
        fused(LossKind::BinaryCrossEntropy, pred, target, grad, sum)
    }
    fn has_accuracy(&self) -> bool {
        true
    }
    fn count_correct<B: Backend>(
        &self,
        pred: &Tensor<B, S>,
        target: &Tensor<B, S>,
        hits: &mut B::Buf,
    ) -> Result<()> {
        fused_hits(LossKind::BinaryCrossEntropy, pred, target, hits)
    }
}
