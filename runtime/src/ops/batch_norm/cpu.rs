//! The CPU kernels of [`super`].

//!
//! Every loop body runs through [`on_cpu_path`], so that it is vectorised
//! for AVX-512 or AVX2 rather than the baseline's 4 lanes: with that and
//! one pass for the backward's two sums, W5's batch norms ran about three
//! times as fast (benches/conv.rs).

use super::*;
use crate::backend::Cpu;
use crate::ops::vector::on_cpu_path;

/// Sums over channel `ch` of the two values `f(a, b)` gives for each
/// position, `a` and `b` read from `data[0]` and `data[1]`: in 16 f32
/// lanes across blocks of 8 samples' planes, each block's total added in
/// f64.
///
/// Why blocks: summed plane by plane (a 14x14 or 7x7 plane is 3 to 12
/// vectors), the lanes' final sum, 16 dependent additions, took longer
/// than the plane's own; across 8 planes it is paid once per 8, and each
/// lane still sums at most a few hundred values in f32 before f64 takes
/// over, so a large batch loses nothing to cancellation.
#[inline(always)]
fn channel_sums(
    g: &NormGeom,
    data: [&[f32]; 2],
    ch: usize,
    f: impl Fn(f32, f32) -> (f32, f32),
) -> [f64; 2] {
    const BLOCK: usize = 8;
    let mut total = [0.0f64; 2];
    for first in (0..g.batch).step_by(BLOCK) {
        let block = first..(first + BLOCK).min(g.batch);
        // One sum at a time over the block's planes (in L1 by the second):
        // both in one loop, the compiler left the lanes scalar.
        total[0] += block_sum(g, data, ch, block.clone(), |a, b| f(a, b).0) as f64;
        total[1] += block_sum(g, data, ch, block, |a, b| f(a, b).1) as f64;
    }
    total
}

/// The sum of `f(x)` over channel `ch` of `x`, blocked as
/// [`channel_sums`], for the forward pass's statistics (one sum each).
#[inline(always)]
fn channel_sum(g: &NormGeom, x: &[f32], ch: usize, f: impl Fn(f32) -> f32) -> f64 {
    const BLOCK: usize = 8;
    // A `for` loop: as `map(..).sum()` the blocks were summed in a separate
    // `fold`, compiled without the CPU path's features.
    let mut total = 0.0f64;
    for first in (0..g.batch).step_by(BLOCK) {
        let block = first..(first + BLOCK).min(g.batch);
        total += block_sum(g, [x, x], ch, block, |v, _| f(v)) as f64;
    }
    total
}

/// The sum of `f(a, b)` over channel `ch` of the samples `block`, in 16
/// f32 lanes.
#[inline(always)]
fn block_sum(
    g: &NormGeom,
    data: [&[f32]; 2],
    ch: usize,
    block: std::ops::Range<usize>,
    f: impl Fn(f32, f32) -> f32,
) -> f32 {
    const LANES: usize = 16;
    let (mut acc, mut tail) = ([0.0f32; LANES], 0.0f32);
    for n in block {
        let at = (n * g.channels + ch) * g.spatial;
        let (a, b) = (&data[0][at..][..g.spatial], &data[1][at..][..g.spatial]);
        let (a_chunks, a_rest) = a.as_chunks::<LANES>();
        let (b_chunks, b_rest) = b.as_chunks::<LANES>();
        for (a, b) in a_chunks.iter().zip(b_chunks) {
            for l in 0..LANES {
                acc[l] += f(a[l], b[l]);
            }
        }
        for (&a, &b) in a_rest.iter().zip(b_rest) {
            tail += f(a, b);
        }
    }
    acc.iter().sum::<f32>() + tail
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
                let (mu32, var) = on_cpu_path(
                    #[inline(always)]
                    || {
                        // (One sum each: through `channel_sums` the unused
                        // second sum still ran over the planes.)
                        let sum = channel_sum(g, x, ch, |v| v);
                        let mu32 = (sum / m as f64) as f32;
                        let dev = channel_sum(g, x, ch, |v| (v - mu32) * (v - mu32));
                        (mu32, dev / m as f64)
                    },
                );
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
                let (sb, sg) = on_cpu_path(
                    #[inline(always)]
                    || {
                        let mu = mean[ch];
                        let [sb, sg] = channel_sums(g, [dy, x], ch, |d, v| (d, d * (v - mu)));
                        (sb, sg)
                    },
                );
                *dg = (sg * inv_std(ch) as f64) as f32;
                *db = sb as f32;
            });
        // Batch statistics: dx = gamma * inv_std / m * (m dy - dbeta - xhat
        // dgamma), which is a dy + b x + k per channel. Running ones:
        // dx = gamma * inv_std * dy.
        let m = g.count() as f32;
        let (dgamma, dbeta) = (&*dgamma, &*dbeta);
        dx.par_chunks_exact_mut(c * g.spatial)
            .zip(
                x.par_chunks_exact(c * g.spatial)
                    .zip(dy.par_chunks_exact(c * g.spatial)),
            )
            .for_each(|(dxs, (xs, dys))| {
                on_cpu_path(
                    #[inline(always)]
                    || {
                        for ch in 0..c {
                            let r = ch * g.spatial..(ch + 1) * g.spatial;
                            let (dxs, xs, dys) = (&mut dxs[r.clone()], &xs[r.clone()], &dys[r]);
                            let is = inv_std(ch);
                            let a = gamma[ch] * is;
                            if !batch {
                                dxs.iter_mut().zip(dys).for_each(|(d, &dyv)| *d = a * dyv);
                                continue;
                            }
                            // a dy + b x + k, with xhat = (x - mean) is.
                            let b = -a * is * dgamma[ch] / m;
                            let k = -a * dbeta[ch] / m - b * mean[ch];
                            for ((d, &xv), &dyv) in dxs.iter_mut().zip(xs).zip(dys) {
                                *d = a * dyv + b * xv + k;
                            }
                        }
                    },
                )
            });
        Ok(())
    }
}
