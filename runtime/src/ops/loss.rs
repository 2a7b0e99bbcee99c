//! Loss kernels: the mean loss over a batch, its gradient with respect to
//! the predictions, and classification hits.
//!
//! Kernels add into device-side accumulators instead of returning numbers,
//! so a training loop can sum a whole epoch on the device and read it once.

use super::softmax::softmax_row;
use crate::backend::{cpu::check_len, Cpu, Device};
use crate::{Error, Result};

/// Probabilities are clamped to `[EPS, 1 - EPS]` inside binary
/// cross-entropy so that a saturated sigmoid gives a large finite loss, not
/// infinity.
pub const BCE_EPS: f32 = 1e-7;

/// Which loss a kernel computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// Mean squared error, averaged over every value.
    Mse,
    /// Softmax then negative log-likelihood of the class index, fused;
    /// averaged over the batch.
    SoftmaxCrossEntropy,
    /// Binary cross-entropy of probabilities against 0/1 targets, averaged
    /// over every value.
    BinaryCrossEntropy,
}

/// The losses, their gradients and accuracy counts, on one device.
pub trait LossOp: Device {
    /// Adds the sum over samples of each sample's loss to `loss_sum[0]`
    /// and, when `grad` is given, writes the gradient of the batch-mean
    /// loss with respect to `pred`.
    #[allow(clippy::too_many_arguments)]
    fn loss(
        &self,
        kind: LossKind,
        rows: usize,
        cols: usize,
        pred: &Self::Buf,
        target: &Self::Buf,
        grad: Option<&mut Self::Buf>,
        loss_sum: &mut Self::Buf,
    ) -> Result<()>;

    /// Adds the number of correctly classified samples to `hits[0]`
    /// (fractions for multi-output binary targets).
    fn count_correct(
        &self,
        kind: LossKind,
        rows: usize,
        cols: usize,
        pred: &Self::Buf,
        target: &Self::Buf,
        hits: &mut Self::Buf,
    ) -> Result<()>;
}

/// The class a label value names, or an error when it is not one of
/// `0..classes`.
pub(crate) fn class_of(label: f32, classes: usize) -> Result<usize> {
    if label >= 0.0 && label.fract() == 0.0 && (label as usize) < classes {
        Ok(label as usize)
    } else {
        Err(Error::LabelOutOfRange { label, classes })
    }
}

/// Index of the largest value (the first one on ties; 0 for an all-NaN row).
/// The lengths a loss kernel's buffers must have: predictions and gradient
/// `[rows, cols]`, targets one class index per row for softmax
/// cross-entropy and `[rows, cols]` otherwise, one accumulator.
fn check_loss_lens(
    backend: &'static str,
    kind: LossKind,
    rows: usize,
    cols: usize,
    (pred, target, grad): (usize, usize, Option<usize>),
    sum: usize,
) -> Result<()> {
    use crate::backend::check_len_on;
    check_len_on(backend, "loss pred", rows * cols, pred)?;
    let target_cols = if kind == LossKind::SoftmaxCrossEntropy {
        1
    } else {
        cols
    };
    check_len_on(backend, "loss target", rows * target_cols, target)?;
    check_len_on(backend, "loss sum", 1, sum)?;
    if let Some(g) = grad {
        check_len_on(backend, "loss grad", rows * cols, g)?;
    }
    Ok(())
}

pub(crate) fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = i;
        }
    }
    best
}

impl LossOp for Cpu {
    fn loss(
        &self,
        kind: LossKind,
        rows: usize,
        cols: usize,
        pred: &Vec<f32>,
        target: &Vec<f32>,
        mut grad: Option<&mut Vec<f32>>,
        loss_sum: &mut Vec<f32>,
    ) -> Result<()> {
        let lens = (pred.len(), target.len(), grad.as_deref().map(Vec::len));
        check_loss_lens("cpu", kind, rows, cols, lens, loss_sum.len())?;
        let mut total = 0.0f64;
        match kind {
            LossKind::Mse => {
                let scale = 2.0 / (rows * cols) as f32;
                for (i, (p, t)) in pred.iter().zip(target).enumerate() {
                    let d = p - t;
                    total += (d * d) as f64 / cols as f64;
                    if let Some(g) = grad.as_deref_mut() {
                        g[i] = scale * d;
                    }
                }
            }
            LossKind::SoftmaxCrossEntropy => {
                let inv_rows = 1.0 / rows as f32;
                for r in 0..rows {
                    let x = &pred[r * cols..(r + 1) * cols];
                    let class = class_of(target[r], cols)?;
                    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let sum: f32 = x.iter().map(|v| (v - max).exp()).sum();
                    // log-sum-exp - x[class], never exponentiating a large value.
                    total += (max + sum.ln() - x[class]) as f64;
                    if let Some(g) = grad.as_deref_mut() {
                        let g = &mut g[r * cols..(r + 1) * cols];
                        softmax_row(x, g);
                        g[class] -= 1.0;
                        g.iter_mut().for_each(|v| *v *= inv_rows);
                    }
                }
            }
            LossKind::BinaryCrossEntropy => {
                let scale = 1.0 / (rows * cols) as f32;
                for (i, (&p, &t)) in pred.iter().zip(target).enumerate() {
                    let pc = p.clamp(BCE_EPS, 1.0 - BCE_EPS);
                    let l = -(t * pc.ln() + (1.0 - t) * (1.0 - pc).ln());
                    total += l as f64 / cols as f64;
                    if let Some(g) = grad.as_deref_mut() {
                        g[i] = scale * (pc - t) / (pc * (1.0 - pc));
                    }
                }
            }
        }
        loss_sum[0] += total as f32;
        Ok(())
    }

    fn count_correct(
        &self,
        kind: LossKind,
        rows: usize,
        cols: usize,
        pred: &Vec<f32>,
        target: &Vec<f32>,
        hits: &mut Vec<f32>,
    ) -> Result<()> {
        check_len("count_correct pred", rows * cols, pred.len())?;
        check_len("count_correct hits", 1, hits.len())?;
        let mut total = 0.0f64;
        match kind {
            LossKind::SoftmaxCrossEntropy => {
                check_len("count_correct target", rows, target.len())?;
                for r in 0..rows {
                    let class = class_of(target[r], cols)?;
                    total += (argmax(&pred[r * cols..(r + 1) * cols]) == class) as u8 as f64;
                }
            }
            LossKind::BinaryCrossEntropy | LossKind::Mse => {
                check_len("count_correct target", rows * cols, target.len())?;
                for (p, t) in pred.chunks_exact(cols).zip(target.chunks_exact(cols)) {
                    let ok = p
                        .iter()
                        .zip(t)
                        .filter(|(p, t)| (**p >= 0.5) == (**t >= 0.5))
                        .count();
                    total += ok as f64 / cols as f64;
                }
            }
        }
        hits[0] += total as f32;
        Ok(())
    }
}

#[cfg(feature = "cuda")]
crate::backend::cuda::kernels!("loss");

#[cfg(feature = "cuda")]
impl LossOp for crate::backend::Cuda {
    fn loss(
        &self,
        kind: LossKind,
        rows: usize,
        cols: usize,
        pred: &Self::Buf,
        target: &Self::Buf,
        grad: Option<&mut Self::Buf>,
        loss_sum: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{int, Grid, KernelArg};
        let lens = (pred.len(), target.len(), grad.as_deref().map(|g| g.len()));
        check_loss_lens("cuda", kind, rows, cols, lens, loss_sum.len())?;
        // A null pointer tells the kernel not to write a gradient.
        let grad = grad.map_or(0, |g| g.ptr());
        let (r, c, n) = (int(rows)?, int(cols)?, int(rows * cols)?);
        let (p, t, sum) = (pred.ptr(), target.ptr(), loss_sum.ptr());
        match kind {
            LossKind::Mse => {
                let scale = 2.0 / (rows * cols) as f32;
                let args: [&dyn KernelArg; 7] = [&n, &c, &scale, &p, &t, &grad, &sum];
                self.launch(&CUDA, "mse", Grid::elements(rows * cols), &args)
            }
            LossKind::BinaryCrossEntropy => {
                let scale = 1.0 / (rows * cols) as f32;
                let args: [&dyn KernelArg; 8] = [&n, &c, &scale, &BCE_EPS, &p, &t, &grad, &sum];
                self.launch(&CUDA, "bce", Grid::elements(rows * cols), &args)
            }
            LossKind::SoftmaxCrossEntropy => {
                let inv_rows = 1.0 / rows as f32;
                let args: [&dyn KernelArg; 7] = [&r, &c, &inv_rows, &p, &t, &grad, &sum];
                let grid = Grid::warp_per_item(rows);
                self.launch(&CUDA, "softmax_cross_entropy", grid, &args)
            }
        }
    }

    fn count_correct(
        &self,
        kind: LossKind,
        rows: usize,
        cols: usize,
        pred: &Self::Buf,
        target: &Self::Buf,
        hits: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid};
        check_len("count_correct pred", rows * cols, pred.len())?;
        check_len("count_correct hits", 1, hits.len())?;
        let (r, c, n) = (int(rows)?, int(cols)?, int(rows * cols)?);
        let (p, t, h) = (pred.ptr(), target.ptr(), hits.ptr());
        match kind {
            LossKind::SoftmaxCrossEntropy => {
                check_len("count_correct target", rows, target.len())?;
                self.launch(
                    &CUDA,
                    "hits_class",
                    Grid::elements(rows),
                    &[&r, &c, &p, &t, &h],
                )
            }
            LossKind::BinaryCrossEntropy | LossKind::Mse => {
                check_len("count_correct target", rows * cols, target.len())?;
                let grid = Grid::elements(rows * cols);
                self.launch(&CUDA, "hits_binary", grid, &[&n, &c, &p, &t, &h])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_is_stable_for_huge_logits() {
        let pred = vec![1000.0, 0.0, -1000.0];
        let mut g = vec![0.0; 3];
        let mut sum = vec![0.0];
        Cpu.loss(
            LossKind::SoftmaxCrossEntropy,
            1,
            3,
            &pred,
            &vec![1.0],
            Some(&mut g),
            &mut sum,
        )
        .unwrap();
        assert!((sum[0] - 1000.0).abs() < 1e-3, "{}", sum[0]);
        assert!(g.iter().all(|v| v.is_finite()));
        assert!((g[0] - 1.0).abs() < 1e-6 && (g[1] + 1.0).abs() < 1e-6);
    }

    #[test]
    fn bad_label_is_an_error() {
        let mut sum = vec![0.0];
        let err = Cpu
            .loss(
                LossKind::SoftmaxCrossEntropy,
                1,
                3,
                &vec![0.0; 3],
                &vec![3.0],
                None,
                &mut sum,
            )
            .unwrap_err();
        assert!(err.to_string().contains("labels must be in 0..3"), "{err}");
    }
}
