//! The CPU kernels of [`super`].

use super::*;
use crate::backend::Cpu;
use rayon::prelude::*;

/// Planes per parallel task: pooling is cheap per value, so tasks must be
/// big enough to pay for the hand-off between threads.
fn min_planes(g: &Geom2d) -> usize {
    (16 * 1024 / (g.in_h * g.in_w).max(1)).max(1)
}

/// Calls `f(iy, ix)` for every input position inside the window of output
/// `(oy, ox)` (padding is skipped).
#[inline]
pub(super) fn window(g: &Geom2d, oy: usize, ox: usize, mut f: impl FnMut(usize, usize)) {
    let (y0, x0) = (
        (oy * g.stride.0) as isize - g.padding.0 as isize,
        (ox * g.stride.1) as isize - g.padding.1 as isize,
    );
    let ys = y0.max(0) as usize..((y0 + g.kernel.0 as isize).min(g.in_h as isize)).max(0) as usize;
    let xs = x0.max(0) as usize..((x0 + g.kernel.1 as isize).min(g.in_w as isize)).max(0) as usize;
    for iy in ys {
        for ix in xs.clone() {
            f(iy, ix);
        }
    }
}

/// Calls `f(start, oy, (i, j))` for each output row `oy` of an unpadded
/// plane and each window position `(i, j)`, in row-major window order:
/// `start` is where that window position reads for the row's first output,
/// and the row's later outputs read `stride` further along each. Without
/// padding every read is inside the image, and working a whole output row
/// per window position keeps the loops free of bounds arithmetic and their
/// iterations independent of each other.
#[inline(always)]
fn unpadded_rows(g: &Geom2d, mut f: impl FnMut(usize, usize, (usize, usize))) {
    for oy in 0..g.out_h {
        let top = oy * g.stride.0 * g.in_w;
        for i in 0..g.kernel.0 {
            for j in 0..g.kernel.1 {
                f(top + i * g.in_w + j, oy, (i, j));
            }
        }
    }
}

/// The larger of `a` and `b`, NaN if either is (`f32::max` drops NaN;
/// PyTorch's max pooling propagates it).
#[inline(always)]
pub(super) fn max_nan(a: f32, b: f32) -> f32 {
    if a.is_nan() | b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

/// Whether input `v` is the value `best` its window's max pool picked.
#[inline(always)]
pub(super) fn is_winner(v: f32, best: f32) -> bool {
    (v == best) | (v.is_nan() & best.is_nan())
}

fn max_plane_unpadded(g: &Geom2d, xp: &[f32], yp: &mut [f32]) {
    let sw = g.stride.1;
    unpadded_rows(g, |start, oy, pos| {
        let y_row = &mut yp[oy * g.out_w..(oy + 1) * g.out_w];
        let reads = xp[start..].iter().step_by(sw);
        if pos == (0, 0) {
            y_row.iter_mut().zip(reads).for_each(|(y, &v)| *y = v);
        } else {
            y_row
                .iter_mut()
                .zip(reads)
                .for_each(|(y, &v)| *y = max_nan(*y, v));
        }
    });
}

/// Backward of [`max_plane_unpadded`]: each output's gradient goes to the
/// first winner of its window. `left` starts as the output gradient and
/// loses what has been handed out, so later ties get nothing. There is no
/// branch on where the winner is: that is a coin toss on real data, and
/// mispredicted branches cost more than the arithmetic.
fn max_plane_unpadded_backward(
    g: &Geom2d,
    (xp, yp, dyp): (&[f32], &[f32], &[f32]),
    dxp: &mut [f32],
    left: &mut [f32],
) {
    let sw = g.stride.1;
    // Windows that tile the plane (2x2 with stride 2, the common case)
    // visit every input once: their gradient is stored, not added, and
    // only the rows and columns that no window covers need clearing.
    let tiles = g.kernel == g.stride;
    if !tiles || g.in_h != g.kernel.0 * g.out_h || g.in_w != g.kernel.1 * g.out_w {
        dxp.fill(0.0);
    }
    left.copy_from_slice(dyp);
    unpadded_rows(g, |start, oy, _| {
        let row = oy * g.out_w..(oy + 1) * g.out_w;
        for (ox, (&best, l)) in yp[row.clone()].iter().zip(&mut left[row]).enumerate() {
            let at = start + ox * sw;
            // `l` at the winner, +0.0 elsewhere (masking bits rather than
            // multiplying by 0 or 1, which would hand out -0.0 and NaN).
            let won = (is_winner(xp[at], best) as u32).wrapping_neg();
            let give = f32::from_bits(l.to_bits() & won);
            if tiles {
                dxp[at] = give;
            } else {
                dxp[at] += give;
            }
            *l -= give;
        }
    });
}

/// Whether `g` is the common 2x2 window with stride 2 and no padding
/// (LeNet's, VGG's): windows tile the plane, so each input belongs to at
/// most one window and both passes can work window by window.
fn is_pairs(g: &Geom2d) -> bool {
    g.kernel == (2, 2) && g.stride == (2, 2) && g.padding == (0, 0)
}

/// [`max_plane_unpadded`] for 2x2 windows with stride 2: each output is
/// the larger of two pairs, read from two input rows.
fn max_plane_pairs(g: &Geom2d, xp: &[f32], yp: &mut [f32]) {
    let (w, ow) = (g.in_w, g.out_w);
    for (oy, y_row) in yp.chunks_exact_mut(ow).enumerate() {
        let top = &xp[2 * oy * w..][..2 * ow];
        let bottom = &xp[(2 * oy + 1) * w..][..2 * ow];
        for ((y, a), b) in y_row
            .iter_mut()
            .zip(top.chunks_exact(2))
            .zip(bottom.chunks_exact(2))
        {
            *y = max_nan(max_nan(a[0], a[1]), max_nan(b[0], b[1]));
        }
    }
}

/// Backward of [`max_plane_pairs`]: each output's gradient goes to the
/// first winner of its window in row-major order, chosen by masks (no
/// branch, no scratch), and every input is written once.
///
/// Why its own loop: the general one walks the plane once per window
/// position with strided reads and keeps what is left to hand out in a
/// scratch plane; it took 5 times the forward pass, 18% of LeNet's step.
#[inline(always)]
fn max_plane_pairs_backward(g: &Geom2d, (xp, yp, dyp): (&[f32], &[f32], &[f32]), dxp: &mut [f32]) {
    let (w, ow) = (g.in_w, g.out_w);
    // A last row or column that no window covers (odd sizes) gets zero.
    if g.in_h != 2 * g.out_h || w != 2 * ow {
        dxp.fill(0.0);
    }
    // Blocks of 8 outputs as fixed-size arrays, which the compiler
    // vectorises, deinterleaving each window's values by shuffles. A row's
    // last block ends at its end and may overlap the one before: outputs
    // are independent, so those are written twice with the same values.
    // (Rows of fewer than 8 outputs take the general loop: blocks of 4
    // with the overlap, or one output at a time, ran slower than it on
    // LeNet's 5-wide rows.)
    debug_assert!(ow >= 8);
    for (oy, (y_row, dy_row)) in yp.chunks_exact(ow).zip(dyp.chunks_exact(ow)).enumerate() {
        let (upper, lower) = dxp[2 * oy * w..][..2 * w].split_at_mut(w);
        let rows = Rows {
            y: y_row,
            dy: dy_row,
            top: &xp[2 * oy * w..][..2 * ow],
            bottom: &xp[(2 * oy + 1) * w..][..2 * ow],
        };
        for ox in (0..ow - 8).step_by(8).chain([ow - 8]) {
            pairs_block::<8, 16>(&rows, upper, lower, ox);
        }
    }
}

/// One row of outputs of [`max_plane_pairs_backward`] and its two rows of
/// inputs.
struct Rows<'a> {
    y: &'a [f32],
    dy: &'a [f32],
    top: &'a [f32],
    bottom: &'a [f32],
}

/// Outputs `ox..ox + B` of `rows` (`W = 2 * B` inputs a row).
#[inline(always)]
fn pairs_block<const B: usize, const W: usize>(
    rows: &Rows<'_>,
    upper: &mut [f32],
    lower: &mut [f32],
    ox: usize,
) {
    let y: &[f32; B] = rows.y[ox..][..B].try_into().unwrap_or(&[0.0; B]);
    let d: &[f32; B] = rows.dy[ox..][..B].try_into().unwrap_or(&[0.0; B]);
    let t: &[f32; W] = rows.top[2 * ox..][..W].try_into().unwrap_or(&[0.0; W]);
    let b: &[f32; W] = rows.bottom[2 * ox..][..W].try_into().unwrap_or(&[0.0; W]);
    let (mut u, mut l) = ([0.0f32; W], [0.0f32; W]);
    for k in 0..B {
        let g = pair_grads(y[k], d[k], [t[2 * k], t[2 * k + 1], b[2 * k], b[2 * k + 1]]);
        (u[2 * k], u[2 * k + 1], l[2 * k], l[2 * k + 1]) = (g[0], g[1], g[2], g[3]);
    }
    upper[2 * ox..][..W].copy_from_slice(&u);
    lower[2 * ox..][..W].copy_from_slice(&l);
}

/// The gradients of one 2x2 window `v` (row-major) whose max is `best`:
/// `d` at the first winner, +0.0 elsewhere, by masks (bits, so that -0.0
/// and NaN pass as they are).
#[inline(always)]
fn pair_grads(best: f32, d: f32, v: [f32; 4]) -> [f32; 4] {
    let won = |v: f32| (is_winner(v, best) as u32).wrapping_neg();
    let m0 = won(v[0]);
    let m1 = won(v[1]) & !m0;
    let m2 = won(v[2]) & !(m0 | m1);
    let m3 = won(v[3]) & !(m0 | m1 | m2);
    [m0, m1, m2, m3].map(|m| f32::from_bits(d.to_bits() & m))
}

impl PoolOp for Cpu {
    fn max_pool2d_forward(&self, g: &Geom2d, x: &Vec<f32>, y: &mut Vec<f32>) -> Result<()> {
        check(g, x.len(), y.len())?;
        let (in_plane, out_plane) = (g.in_h * g.in_w, g.out_plane());
        x.par_chunks_exact(in_plane)
            .zip(y.par_chunks_exact_mut(out_plane))
            .with_min_len(min_planes(g))
            .for_each(|(xp, yp)| {
                if is_pairs(g) {
                    return max_plane_pairs(g, xp, yp);
                }
                if g.padding == (0, 0) {
                    return max_plane_unpadded(g, xp, yp);
                }
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let mut best = f32::NEG_INFINITY;
                        window(g, oy, ox, |iy, ix| {
                            best = max_nan(best, xp[iy * g.in_w + ix])
                        });
                        yp[oy * g.out_w + ox] = best;
                    }
                }
            });
        Ok(())
    }

    fn max_pool2d_backward(
        &self,
        g: &Geom2d,
        x: &Vec<f32>,
        y: &Vec<f32>,
        dy: &Vec<f32>,
        dx: &mut Vec<f32>,
        scratch: &mut Vec<f32>,
    ) -> Result<()> {
        check(g, x.len(), y.len())?;
        check(g, dx.len(), dy.len())?;
        let (in_plane, out_plane) = (g.in_h * g.in_w, g.out_plane());
        scratch.resize(dy.len(), 0.0);
        dx.par_chunks_exact_mut(in_plane)
            .zip(x.par_chunks_exact(in_plane))
            .zip(y.par_chunks_exact(out_plane))
            .zip(dy.par_chunks_exact(out_plane))
            .zip(scratch.par_chunks_exact_mut(out_plane))
            .with_min_len(min_planes(g))
            .for_each(|((((dxp, xp), yp), dyp), left)| {
                if is_pairs(g) && g.out_w >= 8 {
                    return crate::ops::vector::on_cpu_path(
                        #[inline(always)]
                        || max_plane_pairs_backward(g, (xp, yp, dyp), dxp),
                    );
                }
                if g.padding == (0, 0) {
                    return max_plane_unpadded_backward(g, (xp, yp, dyp), dxp, left);
                }
                dxp.fill(0.0);
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let o = oy * g.out_w + ox;
                        let mut given = false;
                        window(g, oy, ox, |iy, ix| {
                            if !given && is_winner(xp[iy * g.in_w + ix], yp[o]) {
                                dxp[iy * g.in_w + ix] += dyp[o];
                                given = true;
                            }
                        });
                    }
                }
            });
        Ok(())
    }

    fn avg_pool2d_forward(&self, g: &Geom2d, x: &Vec<f32>, y: &mut Vec<f32>) -> Result<()> {
        check(g, x.len(), y.len())?;
        let scale = 1.0 / (g.kernel.0 * g.kernel.1) as f32;
        let (in_plane, out_plane) = (g.in_h * g.in_w, g.out_plane());
        x.par_chunks_exact(in_plane)
            .zip(y.par_chunks_exact_mut(out_plane))
            .with_min_len(min_planes(g))
            .for_each(|(xp, yp)| {
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let mut s = 0.0;
                        window(g, oy, ox, |iy, ix| s += xp[iy * g.in_w + ix]);
                        yp[oy * g.out_w + ox] = s * scale;
                    }
                }
            });
        Ok(())
    }

    fn avg_pool2d_backward(&self, g: &Geom2d, dy: &Vec<f32>, dx: &mut Vec<f32>) -> Result<()> {
        check(g, dx.len(), dy.len())?;
        let scale = 1.0 / (g.kernel.0 * g.kernel.1) as f32;
        let (in_plane, out_plane) = (g.in_h * g.in_w, g.out_plane());
        dx.par_chunks_exact_mut(in_plane)
            .zip(dy.par_chunks_exact(out_plane))
            .with_min_len(min_planes(g))
            .for_each(|(dxp, dyp)| {
                dxp.fill(0.0);
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let d = dyp[oy * g.out_w + ox] * scale;
                        window(g, oy, ox, |iy, ix| dxp[iy * g.in_w + ix] += d);
                    }
                }
            });
        Ok(())
    }
}
