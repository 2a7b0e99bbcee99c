//! Batch normalisation: per channel, normalise by the batch's statistics in
//! training (and move the running statistics towards them) or by the running
//! statistics in inference, then scale and shift.
//!
//! Data are `[batch, channels, spatial]` row-major: `spatial` is 1 after a
//! Dense layer (PyTorch's `BatchNorm1d`) and `H * W` after a convolution
//! (`BatchNorm2d`).

use super::reduce;
use crate::backend::{Cpu, Device};
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

/// The values of channel `c`, sample by sample.
fn channel<'a>(g: &'a NormGeom, data: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> + 'a {
    (0..g.batch).map(move |n| &data[(n * g.channels + c) * g.spatial..][..g.spatial])
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
            for (c, (yc, xc)) in ys
                .chunks_exact_mut(g.spatial)
                .zip(xs.chunks_exact(g.spatial))
                .enumerate()
            {
                let (a, b) = scale_shift(c);
                yc.iter_mut().zip(xc).for_each(|(y, x)| *y = x * a + b);
            }
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

impl BatchNormOp for Cpu {
    fn batch_norm_train(
        &self,
        g: &NormGeom,
        eps: f32,
        x: &Vec<f32>,
        gamma: &Vec<f32>,
        beta: &Vec<f32>,
        y: &mut Vec<f32>,
        mean: &mut Vec<f32>,
        inv_std: &mut Vec<f32>,
        running: Running<'_, Vec<f32>>,
    ) -> Result<()> {
        let c = g.channels;
        check(&[
            ("batch_norm x", g.len(), x.len()),
            ("batch_norm y", g.len(), y.len()),
            ("batch_norm gamma", c, gamma.len()),
            ("batch_norm beta", c, beta.len()),
            ("batch_norm running_mean", c, running.mean.len()),
            ("batch_norm running_var", c, running.var.len()),
        ])?;
        too_few_values(g)?;
        let m = g.count();
        mean.resize(c, 0.0);
        inv_std.resize(c, 0.0);
        // Statistics per channel, in parallel over channels: partial sums
        // within each sample's plane (see `reduce`), then over samples in
        // f64, so a large batch loses nothing to cancellation.
        mean.par_iter_mut()
            .zip(inv_std.par_iter_mut())
            .zip(running.mean.par_iter_mut().zip(running.var.par_iter_mut()))
            .enumerate()
            .for_each(|(ch, ((mu, is), (rm, rv)))| {
                let sum: f64 = channel(g, x, ch).map(|s| reduce::sum(s) as f64).sum();
                let mu32 = (sum / m as f64) as f32;
                let var = channel(g, x, ch)
                    .map(|s| reduce::sum_sq_dev(s, mu32) as f64)
                    .sum::<f64>()
                    / m as f64;
                *mu = mu32;
                *is = (1.0 / (var + eps as f64).sqrt()) as f32;
                let mo = running.momentum;
                *rm = (1.0 - mo) * *rm + mo * *mu;
                *rv = (1.0 - mo) * *rv + mo * (var * m as f64 / (m - 1) as f64) as f32;
            });
        let (mean, inv_std) = (&*mean, &*inv_std);
        affine(
            g,
            x,
            |ch| {
                let a = gamma[ch] * inv_std[ch];
                (a, beta[ch] - mean[ch] * a)
            },
            y,
        );
        Ok(())
    }

    fn batch_norm_infer(
        &self,
        g: &NormGeom,
        eps: f32,
        x: &Vec<f32>,
        gamma: &Vec<f32>,
        beta: &Vec<f32>,
        running_mean: &Vec<f32>,
        running_var: &Vec<f32>,
        y: &mut Vec<f32>,
    ) -> Result<()> {
        let c = g.channels;
        check(&[
            ("batch_norm x", g.len(), x.len()),
            ("batch_norm y", g.len(), y.len()),
            ("batch_norm gamma", c, gamma.len()),
            ("batch_norm beta", c, beta.len()),
            ("batch_norm running_mean", c, running_mean.len()),
            ("batch_norm running_var", c, running_var.len()),
        ])?;
        affine(
            g,
            x,
            |ch| {
                let a = gamma[ch] / (running_var[ch] + eps).sqrt();
                (a, beta[ch] - running_mean[ch] * a)
            },
            y,
        );
        Ok(())
    }

    fn batch_norm_backward(
        &self,
        g: &NormGeom,
        x: &Vec<f32>,
        gamma: &Vec<f32>,
        stats: Stats<'_, Vec<f32>>,
        dy: &Vec<f32>,
        dx: &mut Vec<f32>,
        dgamma: &mut Vec<f32>,
        dbeta: &mut Vec<f32>,
    ) -> Result<()> {
        let c = g.channels;
        let (mean, spread, batch) = match stats {
            Stats::Batch { mean, inv_std } => (mean, inv_std, true),
            Stats::Running { mean, var, .. } => (mean, var, false),
        };
        check(&[
            ("batch_norm x", g.len(), x.len()),
            ("batch_norm dy", g.len(), dy.len()),
            ("batch_norm dx", g.len(), dx.len()),
            ("batch_norm gamma", c, gamma.len()),
            ("batch_norm mean", c, mean.len()),
            ("batch_norm inv_std or var", c, spread.len()),
            ("batch_norm dgamma", c, dgamma.len()),
            ("batch_norm dbeta", c, dbeta.len()),
        ])?;
        let inv_std = |ch: usize| match stats {
            Stats::Batch { inv_std, .. } => inv_std[ch],
            Stats::Running { var, eps, .. } => 1.0 / (var[ch] + eps).sqrt(),
        };
        // dbeta = sum dy; dgamma = sum dy * xhat, per channel.
        dgamma
            .par_iter_mut()
            .zip(dbeta.par_iter_mut())
            .enumerate()
            .for_each(|(ch, (dg, db))| {
                let (mut sg, mut sb) = (0.0f64, 0.0f64);
                for (xs, ds) in channel(g, x, ch).zip(channel(g, dy, ch)) {
                    sb += reduce::sum(ds) as f64;
                    sg += reduce::dot_dev(ds, xs, mean[ch]) as f64;
                }
                *dg = (sg * inv_std(ch) as f64) as f32;
                *db = sb as f32;
            });
        // Batch statistics: dx = gamma * inv_std / m * (m dy - dbeta - xhat
        // dgamma). Running ones: dx = gamma * inv_std * dy.
        let m = g.count() as f32;
        let (dgamma, dbeta) = (&*dgamma, &*dbeta);
        dx.par_chunks_exact_mut(c * g.spatial)
            .zip(
                x.par_chunks_exact(c * g.spatial)
                    .zip(dy.par_chunks_exact(c * g.spatial)),
            )
            .for_each(|(dxs, (xs, dys))| {
                for ch in 0..c {
                    let r = ch * g.spatial..(ch + 1) * g.spatial;
                    let is = inv_std(ch);
                    let (dxs, xs, dys) = (&mut dxs[r.clone()], &xs[r.clone()], &dys[r]);
                    if !batch {
                        let k = gamma[ch] * is;
                        dxs.iter_mut().zip(dys).for_each(|(d, &dyv)| *d = k * dyv);
                        continue;
                    }
                    let k = gamma[ch] * is / m;
                    for ((d, &xv), &dyv) in dxs.iter_mut().zip(xs).zip(dys) {
                        let xhat = (xv - mean[ch]) * is;
                        *d = k * (m * dyv - dbeta[ch] - xhat * dgamma[ch]);
                    }
                }
            });
        Ok(())
    }
}

#[cfg(feature = "cuda")]
crate::backend::cuda::kernels!("batch_norm");

#[cfg(feature = "cuda")]
impl NormGeom {
    /// Batch, channels, spatial and value count as kernel `int`s.
    fn kernel_ints(&self) -> Result<[i32; 4]> {
        use crate::backend::cuda::int;
        Ok([
            int(self.batch)?,
            int(self.channels)?,
            int(self.spatial)?,
            int(self.len())?,
        ])
    }
}

#[cfg(feature = "cuda")]
impl BatchNormOp for crate::backend::Cuda {
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
    ) -> Result<()> {
        use crate::backend::cuda::{Grid, KernelArg};
        let c = g.channels;
        check_on(
            "cuda",
            &[
                ("batch_norm x", g.len(), x.len()),
                ("batch_norm y", g.len(), y.len()),
                ("batch_norm gamma", c, gamma.len()),
                ("batch_norm beta", c, beta.len()),
                ("batch_norm running_mean", c, running.mean.len()),
                ("batch_norm running_var", c, running.var.len()),
            ],
        )?;
        too_few_values(g)?;
        self.resize(mean, c)?;
        self.resize(inv_std, c)?;
        let [nb, nc, ns, n] = g.kernel_ints()?;
        let (mp, ip) = (mean.ptr(), inv_std.ptr());
        let args: [&dyn KernelArg; 10] = [
            &nb,
            &nc,
            &ns,
            &eps,
            &running.momentum,
            &x.ptr(),
            &mp,
            &ip,
            &running.mean.ptr(),
            &running.var.ptr(),
        ];
        self.launch(&CUDA, "bn_stats", Grid::per_item(c), &args)?;
        let batch_stats = 0i32;
        let args: [&dyn KernelArg; 11] = [
            &n,
            &nc,
            &ns,
            &batch_stats,
            &eps,
            &x.ptr(),
            &gamma.ptr(),
            &beta.ptr(),
            &mp,
            &ip,
            &y.ptr(),
        ];
        self.launch(&CUDA, "bn_affine", Grid::elements(g.len()), &args)
    }

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
    ) -> Result<()> {
        use crate::backend::cuda::{Grid, KernelArg};
        let c = g.channels;
        check_on(
            "cuda",
            &[
                ("batch_norm x", g.len(), x.len()),
                ("batch_norm y", g.len(), y.len()),
                ("batch_norm gamma", c, gamma.len()),
                ("batch_norm beta", c, beta.len()),
                ("batch_norm running_mean", c, running_mean.len()),
                ("batch_norm running_var", c, running_var.len()),
            ],
        )?;
        let [_, nc, ns, n] = g.kernel_ints()?;
        let running = 1i32;
        let args: [&dyn KernelArg; 11] = [
            &n,
            &nc,
            &ns,
            &running,
            &eps,
            &x.ptr(),
            &gamma.ptr(),
            &beta.ptr(),
            &running_mean.ptr(),
            &running_var.ptr(),
            &y.ptr(),
        ];
        self.launch(&CUDA, "bn_affine", Grid::elements(g.len()), &args)
    }

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
    ) -> Result<()> {
        use crate::backend::cuda::{Grid, KernelArg};
        let c = g.channels;
        let (mean, spread, running, eps) = match stats {
            Stats::Batch { mean, inv_std } => (mean, inv_std, 0i32, 0.0f32),
            Stats::Running { mean, var, eps } => (mean, var, 1i32, eps),
        };
        check_on(
            "cuda",
            &[
                ("batch_norm x", g.len(), x.len()),
                ("batch_norm dy", g.len(), dy.len()),
                ("batch_norm dx", g.len(), dx.len()),
                ("batch_norm gamma", c, gamma.len()),
                ("batch_norm mean", c, mean.len()),
                ("batch_norm inv_std or var", c, spread.len()),
                ("batch_norm dgamma", c, dgamma.len()),
                ("batch_norm dbeta", c, dbeta.len()),
            ],
        )?;
        let [nb, nc, ns, n] = g.kernel_ints()?;
        let (xp, dyp, mp, sp) = (x.ptr(), dy.ptr(), mean.ptr(), spread.ptr());
        let (dgp, dbp) = (dgamma.ptr(), dbeta.ptr());
        let args: [&dyn KernelArg; 11] = [
            &nb, &nc, &ns, &running, &eps, &xp, &dyp, &mp, &sp, &dgp, &dbp,
        ];
        self.launch(&CUDA, "bn_param_grads", Grid::per_item(c), &args)?;
        let m = g.count() as f32;
        let args: [&dyn KernelArg; 14] = [
            &n,
            &nc,
            &ns,
            &running,
            &eps,
            &m,
            &xp,
            &dyp,
            &gamma.ptr(),
            &mp,
            &sp,
            &dgp,
            &dbp,
            &dx.ptr(),
        ];
        self.launch(&CUDA, "bn_input_grad", Grid::elements(g.len()), &args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_normalises_and_moves_running_stats() {
        // Two samples, one channel, two positions: values 1, 2, 3, 4.
        let g = NormGeom {
            batch: 2,
            channels: 1,
            spatial: 2,
        };
        let x = vec![1.0, 2.0, 3.0, 4.0];
        let (mut y, mut mean, mut inv) = (vec![0.0; 4], Vec::new(), Vec::new());
        let (mut rm, mut rv) = (vec![0.0], vec![1.0]);
        Cpu.batch_norm_train(
            &g,
            0.0,
            &x,
            &vec![1.0],
            &vec![0.0],
            &mut y,
            &mut mean,
            &mut inv,
            Running {
                mean: &mut rm,
                var: &mut rv,
                momentum: 0.1,
            },
        )
        .unwrap();
        assert_eq!(mean, vec![2.5]);
        let s = 1.25f32.sqrt();
        for (a, e) in y.iter().zip([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]) {
            assert!((a - e).abs() < 1e-6);
        }
        assert!((rm[0] - 0.25).abs() < 1e-6);
        // Unbiased variance 5/3 enters the running variance.
        assert!((rv[0] - (0.9 + 0.1 * 5.0 / 3.0)).abs() < 1e-6);
    }

    #[test]
    fn one_value_per_channel_is_an_error() {
        let g = NormGeom {
            batch: 1,
            channels: 2,
            spatial: 1,
        };
        let err = Cpu
            .batch_norm_train(
                &g,
                1e-5,
                &vec![1.0, 2.0],
                &vec![1.0; 2],
                &vec![0.0; 2],
                &mut vec![0.0; 2],
                &mut Vec::new(),
                &mut Vec::new(),
                Running {
                    mean: &mut vec![0.0; 2],
                    var: &mut vec![1.0; 2],
                    momentum: 0.1,
                },
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("more than one value per channel"),
            "{err}"
        );
    }
}
