//! Stride-1 convolutions with many input values per output (a ResNet's
//! 3x3 layers, LeNet's second layer) as products over shifted views of a
//! padded image, with nothing unfolded.
//!
//! Why: for these layers unfolding (im2col) and folding back (col2im) took
//! about a third of a small ResNet's training step, as much as the
//! products they fed. With the image padded once, the value that tap
//! `(c, i, j)` reads for output `(y, x)` sits at offset
//! `c * plane + i * cols + j` plus `y * cols + x` of the padded planes: the
//! unfolded matrix is the padded image read at one offset per tap, so the
//! kernels read it in place.
//!
//! All three passes are products over taps of one image value and one
//! weight (or output-gradient) value:
//! - forward: `y[o][pos] = sum over taps of image[tap + pos] * W^T[tap][o]`.
//!   With AVX-512 (and for passes of at most 6 channels on every path) a
//!   tile holds a few channels by a few vectors of positions, loading the
//!   positions and broadcasting the weights; with AVX2 a tile holds a few
//!   positions by one or two vectors of channels. Positions run over every
//!   column of the padded pitch (the `kw - 1` extra ones are computed and
//!   dropped), so that each tap reads one contiguous run: 14% more
//!   multiply-adds on 14x14 images, and faster than gathering the real
//!   positions with a check per read;
//! - input gradient: the same loop over the output gradient padded by
//!   `k - 1 - padding`, with the weights flipped and their channels
//!   swapped (stride 1 makes it a convolution of the same kind);
//! - weight gradient: `dW^T[tap][o] += sum over positions of
//!   image[tap + pos] * dY^T[pos][o]`, a tile of taps in registers, kept
//!   across the task's images so that nothing is reduced across lanes.
//!
//! Results come out on the padded pitch and are copied (or, from the
//! channel-vectorised kernel, transposed) into NCHW once.
//! The loops are plain Rust over fixed-size arrays, compiled for AVX-512,
//! AVX2 + FMA and the portable build; the products' CPU path
//! ([`crate::ops::gemm::cpu_path`], `STATICNN_CPU`) picks one.
//!
//! Here: which layers take the path, the passes' weights and scratch, and
//! the forward and backward drivers; `pass.rs` the shape of one pass over
//! padded planes; `correlate.rs` and `weight_grad.rs` the kernels;
//! `simd.rs` what the kernels share (the dispatch to a CPU path's compiled
//! copy, the multiply-add, loads).

use super::*;
use crate::ops::gemm::CpuPath;
use correlate::correlate;
use pass::Pass;
use rayon::prelude::*;
use weight_grad::weight_grad;

mod correlate;
mod pass;
mod simd;
mod weight_grad;

/// Whether `g` takes this path: stride 1, more input values per output
/// than the direct path takes, and padding below the kernel size (so that
/// the input gradient is a convolution of the same kind).
pub(super) fn applies(g: &Geom2d) -> bool {
    g.stride == (1, 1)
        && g.patch() > super::direct::MAX_PATCH
        && g.padding.0 < g.kernel.0
        && g.padding.1 < g.kernel.1
}

/// Whether the forward pass of `g` takes this path: every layer that
/// [`applies`] takes and the direct path's too (few input values per
/// output, LeNet's first layer) on AVX-512 or with at most 6 output
/// channels; their gradients stay on the direct path.
///
/// Why: the position-vectorised tile (6 or 8 channels by 2 to 4 vectors
/// of positions, see [`correlate`](fn@correlate)) ran LeNet's first layer at 2.2x the
/// direct kernel's rate on AVX-512 (100 against 225 us at batch 64) and
/// 2x on AVX2 (158 against 314).
pub(super) fn takes_forward(g: &Geom2d, path: CpuPath) -> bool {
    applies(g)
        || ((lanes(path) == 16 || g.out_c <= 6)
            && g.stride == (1, 1)
            && g.padding.0 < g.kernel.0
            && g.padding.1 < g.kernel.1)
}

/// The vector width of `path`'s kernels, in values.
fn lanes(path: CpuPath) -> usize {
    match path {
        CpuPath::Avx512 if path.is_supported() => 16,
        _ => 8,
    }
}

/// Tap tile of the weight gradient's kernel, for 1 or 2 vectors per
/// channel block: 12 accumulators.
const TILE_ONE: usize = 12;
const TILE_TWO: usize = 6;

/// `wt[tap][o] = weight[o][tap]` for the forward pass, zero in the padded
/// channels.
fn forward_weights(g: &Geom2d, pass: &Pass, weight: &[f32], wt: &mut [f32]) {
    let patch = g.patch();
    wt.fill(0.0);
    for (o, w_o) in weight.chunks_exact(patch).enumerate() {
        for (t, &w) in w_o.iter().enumerate() {
            wt[t * pass.width + o] = w;
        }
    }
}

/// The input gradient's weights: tap `(o, i, j)` of the flipped kernel
/// for input channel `c` is `weight[o][c][kh-1-i][kw-1-j]`.
fn input_grad_weights(g: &Geom2d, pass: &Pass, weight: &[f32], wt: &mut [f32]) {
    let (kh, kw) = g.kernel;
    wt.fill(0.0);
    for o in 0..g.out_c {
        for c in 0..g.in_c {
            for i in 0..kh {
                for j in 0..kw {
                    let w = weight[((o * g.in_c + c) * kh + kh - 1 - i) * kw + kw - 1 - j];
                    wt[((o * kh + i) * kw + j) * pass.width + c] = w;
                }
            }
        }
    }
}

/// Runs the pass's kernel on the padded planes `src` and writes its
/// outputs, plus `bias`, to `dst` in NCHW; `out` is the kernel's buffer.
fn run_pass(
    path: CpuPath,
    pass: &Pass,
    src: &[f32],
    wt: &[f32],
    out: &mut [f32],
    bias: Option<&[f32]>,
    dst: &mut [f32],
) {
    correlate(path, pass, src, wt, out);
    if !pass.by_positions() {
        return transpose_out(pass, out, bias, dst);
    }
    // The grid's rows are the output's rows at the padded pitch: drop the
    // extra columns.
    let grid = pass.grid();
    crate::ops::vector::on_cpu_path(
        #[inline(always)]
        || {
            for (o, d_o) in dst.chunks_exact_mut(pass.positions()).enumerate() {
                let b = bias.map_or(0.0, |b| b[o]);
                for (y, d_y) in d_o.chunks_exact_mut(pass.out_w).enumerate() {
                    let row = &out[o * grid + y * pass.cols..][..pass.out_w];
                    super::add_row(d_y, row, b);
                }
            }
        },
    )
}

/// `dst[o][y][x] = src[y * cols + x][o] + bias[o]` for the real channels
/// and columns of [`correlate`](fn@correlate)'s grid, when it ran over channels.
fn transpose_out(pass: &Pass, src: &[f32], bias: Option<&[f32]>, dst: &mut [f32]) {
    let width = pass.width;
    for (o, d_o) in dst.chunks_exact_mut(pass.positions()).enumerate() {
        let b = bias.map_or(0.0, |b| b[o]);
        for (y, d_y) in d_o.chunks_exact_mut(pass.out_w).enumerate() {
            let column = src[y * pass.cols * width + o..].iter().step_by(width);
            d_y.iter_mut().zip(column).for_each(|(d, &v)| *d = v + b);
        }
    }
}

/// Forward: `y = conv(x, weight) + bias`, with the kernels of `path`.
/// `scratch` is resized to the packed weights and each task's padded
/// image and transposed output.
pub(super) fn forward(
    g: &Geom2d,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    scratch: &mut Vec<f32>,
    path: CpuPath,
) {
    let pass = Pass::forward(g, lanes(path));
    let per = per_task(g);
    let tasks = g.batch.div_ceil(per);
    let wt_len = g.patch() * pass.width;
    let task_len = pass.src_len() + pass.out_len();
    scratch.resize(wt_len + tasks * task_len, 0.0);
    let (wt, rest) = scratch.split_at_mut(wt_len);
    forward_weights(g, &pass, weight, wt);
    let wt = &*wt;
    rest.par_chunks_mut(task_len)
        .zip(y.par_chunks_mut(per * g.out_sample()))
        .enumerate()
        .for_each(|(t, (wk, y_t))| {
            let (src, out) = wk.split_at_mut(pass.src_len());
            for (k, y_n) in y_t.chunks_exact_mut(g.out_sample()).enumerate() {
                let n = t * per + k;
                pass.pad_into(&x[n * g.in_sample()..][..g.in_sample()], src);
                run_pass(path, &pass, src, wt, out, bias, y_n);
            }
        });
}

/// Backward: `dweight`, `dbias` and (when wanted) `dx`, all overwritten,
/// with the kernels of `path`. `work` is resized to the flipped weights
/// and each task's scratch and partial gradients.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward(
    g: &Geom2d,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    dweight: &mut [f32],
    dbias: Option<&mut [f32]>,
    work: &mut Vec<f32>,
    path: CpuPath,
) {
    let lanes = lanes(path);
    let fwd = Pass::forward(g, lanes);
    let bwd = Pass::input_grad(g, lanes);
    let per = per_task(g);
    let tasks = g.batch.div_ceil(per);
    let patch = g.patch();
    let want_dx = dx.is_some();
    let wt_len = if want_dx { bwd.taps() * bwd.width } else { 0 };
    // Per task: the padded image, dY transposed, the padded dY and the
    // transposed dx (for dx), the partial dW^T, the partial db.
    let src_len = fwd.src_len();
    let dyt_len = fwd.positions() * fwd.outs_padded;
    let (dsrc_len, dxt_len) = if want_dx {
        (bwd.src_len(), bwd.out_len())
    } else {
        (0, 0)
    };
    let dwt_len = patch * fwd.outs_padded;
    let task_len = src_len + dyt_len + dsrc_len + dxt_len + dwt_len + g.out_c;
    work.resize(wt_len + tasks * task_len, 0.0);
    let (wt, rest) = work.split_at_mut(wt_len);
    if want_dx {
        input_grad_weights(g, &bwd, weight, wt);
    }
    let wt = &*wt;
    // The bias gradient's sums only when it is wanted (a layer without
    // bias, as before a batch norm, has none).
    let want_db = dbias.is_some();
    let run = |t: usize, wk: &mut [f32], mut dx_t: Option<&mut [f32]>| {
        let (src, wk) = wk.split_at_mut(src_len);
        let (dyt, wk) = wk.split_at_mut(dyt_len);
        let (dsrc, wk) = wk.split_at_mut(dsrc_len);
        let (dxt, wk) = wk.split_at_mut(dxt_len);
        let (dwt, db_t) = wk.split_at_mut(dwt_len);
        // The padded channels of dY^T stay zero; only real ones are
        // written below.
        dyt.fill(0.0);
        dwt.fill(0.0);
        db_t.fill(0.0);
        let images = t * per..((t + 1) * per).min(g.batch);
        for (k, n) in images.enumerate() {
            let dy_n = &dy[n * g.out_sample()..][..g.out_sample()];
            for (o, plane) in dy_n.chunks_exact(g.out_plane()).enumerate() {
                if want_db {
                    db_t[o] += crate::ops::reduce::sum(plane);
                }
                // A strided walk, not `dyt[p * width + o]`: indexing kept a
                // multiply and a bounds check per value, 5% of W5's step.
                let column = dyt[o..].iter_mut().step_by(fwd.outs_padded);
                column.zip(plane).for_each(|(d, &v)| *d = v);
            }
            fwd.pad_into(&x[n * g.in_sample()..][..g.in_sample()], src);
            weight_grad(path, &fwd, src, dyt, dwt);
            if let Some(dx_t) = dx_t.as_deref_mut() {
                bwd.pad_into(dy_n, dsrc);
                let dx_n = &mut dx_t[k * g.in_sample()..][..g.in_sample()];
                run_pass(path, &bwd, dsrc, wt, dxt, None, dx_n);
            }
        }
    };
    for_each_task(rest, task_len, dx, per * g.in_sample(), run);
    // Sum the tasks' dW^T into dW, and their db.
    let part = |t: usize| &rest[t * task_len + task_len - dwt_len - g.out_c..][..dwt_len + g.out_c];
    dweight.fill(0.0);
    for t in 0..tasks {
        let p = part(t);
        for (o, d_o) in dweight.chunks_exact_mut(patch).enumerate() {
            for (tap, d) in d_o.iter_mut().enumerate() {
                *d += p[tap * fwd.outs_padded + o];
            }
        }
    }
    if let Some(db) = dbias {
        db.fill(0.0);
        for t in 0..tasks {
            db.iter_mut()
                .zip(&part(t)[dwt_len..])
                .for_each(|(d, v)| *d += v);
        }
    }
}
