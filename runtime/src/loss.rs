//! Loss functions.
//!
//! Each loss is a unit type naming a fused kernel in
//! [`ops::loss`](crate::ops::loss); the trait fixes which target shape it
//! takes, so a classification loss given one-hot vectors, or a regression
//! loss given class indices, is a compile error.

use crate::backend::Backend;
use crate::ops::loss::LossKind;
use crate::shape::{ClassIndex, Rank1, Shape};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// A loss over predictions of shape `S`, averaged over the batch.
pub trait Loss<S: Shape>: Send + Sync {
    /// Shape of one target: `S` itself for regression, [`ClassIndex`] for
    /// classification.
    type Target: Shape;

    /// The kernel that computes it.
    fn kind(&self) -> LossKind;

    /// Whether accuracy means something for this loss (and `fit` should
    /// report it).
    fn has_accuracy(&self) -> bool;

    /// The batch-mean loss.
    fn value<B: Backend>(
        &self,
        pred: &Tensor<B, S>,
        target: &Tensor<B, Self::Target>,
    ) -> Result<f32> {
        batch_mean(self.kind(), pred, target, None)
    }

    /// The batch-mean loss and its gradient with respect to `pred`.
    fn value_and_grad<B: Backend>(
        &self,
        pred: &Tensor<B, S>,
        target: &Tensor<B, Self::Target>,
    ) -> Result<(f32, Tensor<B, S>)> {
        let mut grad = pred.zeros_like_batch()?;
        let value = batch_mean(self.kind(), pred, target, Some(&mut grad))?;
        Ok((value, grad))
    }
}

/// Run a loss kernel on one batch and read the mean back.
fn batch_mean<B: Backend, S: Shape, T: Shape>(
    kind: LossKind,
    pred: &Tensor<B, S>,
    target: &Tensor<B, T>,
    grad: Option<&mut Tensor<B, S>>,
) -> Result<f32> {
    check_batch(pred, target)?;
    let dev = pred.device();
    let mut sum = dev.zeros(1)?;
    dev.loss(
        kind,
        pred.batch(),
        S::SIZE,
        pred.buf(),
        target.buf(),
        grad.map(Tensor::buf_mut),
        &mut sum,
    )?;
    Ok(dev.read(&sum)?[0] / pred.batch() as f32)
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
    fn kind(&self) -> LossKind {
        LossKind::Mse
    }
    fn has_accuracy(&self) -> bool {
        false
    }
}

/// Softmax followed by cross-entropy against class indices, fused and
/// numerically stable (PyTorch `CrossEntropyLoss()` on logits). The network
/// should end in logits, not in a Softmax layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftmaxCrossEntropy;

impl<const N: usize> Loss<Rank1<N>> for SoftmaxCrossEntropy {
    type Target = ClassIndex;
    fn kind(&self) -> LossKind {
        LossKind::SoftmaxCrossEntropy
    }
    fn has_accuracy(&self) -> bool {
        true
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
    fn kind(&self) -> LossKind {
        LossKind::BinaryCrossEntropy
    }
    fn has_accuracy(&self) -> bool {
        true
    }
}
