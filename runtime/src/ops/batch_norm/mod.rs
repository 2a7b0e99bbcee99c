//! Batch normalisation: per channel, normalise by the batch's statistics in
//! training (and move the running statistics towards them) or by the running
//! statistics in inference, then scale and shift.
//!
//! Data are `[batch, channels, spatial]` row-major: `spatial` is 1 after a
//! Dense layer (PyTorch's `BatchNorm1d`) and `H * W` after a convolution
//! (`BatchNorm2d`).

use crate::backend::Device;
use crate::{Error, Result};
use rayon::prelude::*;

/// Sizes of a batch-norm op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormGeom {
    /// Samples in the batch.
    pub batch: usize,
    /// Channels (features, after Dense), each normalised on its own.
    pub channels: usize,
    /// Values per channel per sample.
    pub spatial: usize,
}

impl NormGeom {
    /// Values in the whole batch.
    pub fn len(&self) -> usize {
        self.batch * self.channels * self.spatial
    }

    /// Whether the batch holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per channel in the whole batch.
    pub fn count(&self) -> usize {
        self.batch * self.spatial
    }
}

/// Running statistics and the options that move them.
#[derive(Debug)]
pub struct Running<'a, Buf> {
    /// The running mean, one per channel.
    pub mean: &'a mut Buf,
    /// The running (unbiased) variance, one per channel.
    pub var: &'a mut Buf,
    /// Weight of the new batch: `running = (1 - m) running + m batch`.
    pub momentum: f32,
}

/// Batch normalisation: statistics, the affine map and gradients, on one device.
pub trait BatchNormOp: Device {
    /// Training: normalise with the batch's mean and (biased) variance,
    /// keep them in `mean` and `inv_std` for backward, and update the
    /// running statistics (variance unbiased, as PyTorch does).
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_train(
        &self,
        g: &NormGeom,
        eps: f32,
        x: &Self::Buf,
        gamma: &Self::Buf,
        beta: &Self::Buf,
        y: &mut Self::Buf,
        mean: &mut Self::Buf,
        inv_std: &mut Self::Buf,
        running: Running<'_, Self::Buf>,
    ) -> Result<()>;

    /// Inference with the running statistics.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_infer(
        &self,
        g: &NormGeom,
        eps: f32,
        x: &Self::Buf,
        gamma: &Self::Buf,
        beta: &Self::Buf,
        running_mean: &Self::Buf,
        running_var: &Self::Buf,
        y: &mut Self::Buf,
    ) -> Result<()>;

    /// Gradients of a forward pass with the statistics `stats` it used:
    /// `dgamma`, `dbeta` and `dx` are overwritten.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_backward(
        &self,
        g: &NormGeom,
        x: &Self::Buf,
        gamma: &Self::Buf,
        stats: Stats<'_, Self::Buf>,
        dy: &Self::Buf,
        dx: &mut Self::Buf,
        dgamma: &mut Self::Buf,
        dbeta: &mut Self::Buf,
    ) -> Result<()>;
}

/// The statistics a forward pass normalised with.
#[derive(Debug, Clone, Copy)]
pub enum Stats<'a, Buf> {
    /// The batch's own (training): the input gradient also flows through
    /// the mean and variance.
    Batch {
        /// The batch's mean, one per channel.
        mean: &'a Buf,
        /// `1 / sqrt(var + eps)` of the batch, one per channel.
        inv_std: &'a Buf,
    },
    /// The running estimates (inference), constants: the layer is an affine
    /// map, as when fine-tuning with BatchNorm frozen.
    Running {
        /// The running mean.
        mean: &'a Buf,
        /// The running variance.
        var: &'a Buf,
        /// Added to the variance before its square root.
        eps: f32,
    },
}

/// Apply `y = x * scale[c] + shift[c]` per channel, in parallel over
/// samples.
fn affine(
    g: &NormGeom,
    x: &[f32],
    scale_shift: impl Fn(usize) -> (f32, f32) + Sync,
    y: &mut [f32],
) {
    y.par_chunks_exact_mut(g.channels * g.spatial)
        .zip(x.par_chunks_exact(g.channels * g.spatial))
        .for_each(|(ys, xs)| {
            crate::ops::vector::on_cpu_path(
                #[inline(always)]
                || {
                    for (c, (yc, xc)) in ys
                        .chunks_exact_mut(g.spatial)
                        .zip(xs.chunks_exact(g.spatial))
                        .enumerate()
                    {
                        let (a, b) = scale_shift(c);
                        yc.iter_mut().zip(xc).for_each(|(y, x)| *y = x * a + b);
                    }
                },
            )
        });
}

/// Check every `(buffer, expected length, length)`.
/// Training estimates a variance per channel, which needs two values.
fn too_few_values(g: &NormGeom) -> Result<()> {
    let m = g.count();
    if m < 2 {
        return Err(Error::config(
            "BatchNorm",
            format!("training needs more than one value per channel to estimate a variance, got {m} (batch {}); use a larger batch, or inference mode", g.batch),
        ));
    }
    Ok(())
}

/// Length checks of a list of (buffer, expected, got) on `backend`.
fn check_on(backend: &'static str, bufs: &[(&'static str, usize, usize)]) -> Result<()> {
    for &(what, expected, got) in bufs {
        crate::backend::check_len_on(backend, what, expected, got)?;
    }
    Ok(())
}

fn check(bufs: &[(&'static str, usize, usize)]) -> Result<()> {
    check_on("cpu", bufs)
}

mod cpu;
#[cfg(feature = "cuda")]
mod cuda;
#[cfg(feature = "cuda")]
pub(crate) use cuda::CUDA;
#[cfg(test)]
mod tests;
