//! Max and average pooling over 2-D windows (global average pooling is an
//! average over the whole image).

use super::window::Geom2d;
use crate::backend::{cpu::check_len, Cpu, Device};
use crate::Result;
use rayon::prelude::*;

pub trait PoolOp: Device {
    /// `y` = the largest value in each window (padding never wins).
    /// `argmax` receives, per output, the index of the winner within its
    /// input plane, for the backward pass; the kernel sizes it.
    fn max_pool2d_forward(
        &self,
        g: &Geom2d,
        x: &Self::Buf,
        y: &mut Self::Buf,
        argmax: &mut Self::Buf,
    ) -> Result<()>;

    /// `dx` (overwritten) gets each output's gradient at its winner.
    fn max_pool2d_backward(
        &self,
        g: &Geom2d,
        argmax: &Self::Buf,
        dy: &Self::Buf,
        dx: &mut Self::Buf,
    ) -> Result<()>;

    /// `y` = the mean of each window, padding counted as zeros (PyTorch's
    /// `count_include_pad=True`).
    fn avg_pool2d_forward(&self, g: &Geom2d, x: &Self::Buf, y: &mut Self::Buf) -> Result<()>;

    /// `dx` (overwritten) gets each output's gradient spread evenly over its
    /// window.
    fn avg_pool2d_backward(&self, g: &Geom2d, dy: &Self::Buf, dx: &mut Self::Buf) -> Result<()>;
}

/// Planes per parallel task: pooling is cheap per value, so tasks must be
/// big enough to pay for the hand-off between threads.
fn min_planes(g: &Geom2d) -> usize {
    (16 * 1024 / (g.in_h * g.in_w).max(1)).max(1)
}

/// Calls `f(oy, ox, iy, ix)` for every input position inside the window of
/// output `(oy, ox)`.
#[inline]
fn window(g: &Geom2d, oy: usize, ox: usize, mut f: impl FnMut(usize, usize)) {
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

/// Max pooling of one plane without padding, the common case: every
/// window lies inside the image, so the loops need no bounds arithmetic.
fn max_plane_unpadded(g: &Geom2d, xp: &[f32], yp: &mut [f32], ap: &mut [f32]) {
    let (kh, kw) = g.kernel;
    let (sh, sw) = g.stride;
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            let corner = oy * sh * g.in_w + ox * sw;
            let (mut best, mut at) = (xp[corner], corner);
            for i in 0..kh {
                let row = corner + i * g.in_w;
                for (j, &v) in xp[row..row + kw].iter().enumerate() {
                    // A NaN wins (and propagates), as in PyTorch.
                    if v > best || v.is_nan() {
                        best = v;
                        at = row + j;
                    }
                }
            }
            yp[oy * g.out_w + ox] = best;
            ap[oy * g.out_w + ox] = at as f32;
        }
    }
}

fn check(g: &Geom2d, x: usize, y: usize) -> Result<()> {
    check_len("pool input", g.in_len(), x)?;
    check_len("pool output", g.out_len(), y)
}

impl PoolOp for Cpu {
    fn max_pool2d_forward(
        &self,
        g: &Geom2d,
        x: &Vec<f32>,
        y: &mut Vec<f32>,
        argmax: &mut Vec<f32>,
    ) -> Result<()> {
        check(g, x.len(), y.len())?;
        argmax.resize(y.len(), 0.0);
        let (in_plane, out_plane) = (g.in_h * g.in_w, g.out_plane());
        x.par_chunks_exact(in_plane)
            .zip(y.par_chunks_exact_mut(out_plane))
            .zip(argmax.par_chunks_exact_mut(out_plane))
            .with_min_len(min_planes(g))
            .for_each(|((xp, yp), ap)| {
                if g.padding == (0, 0) {
                    max_plane_unpadded(g, xp, yp, ap);
                    return;
                }
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let (mut best, mut at) = (f32::NEG_INFINITY, usize::MAX);
                        window(g, oy, ox, |iy, ix| {
                            let v = xp[iy * g.in_w + ix];
                            // `!(v <= best)` lets a NaN win, so it propagates
                            // as in PyTorch instead of being hidden.
                            if at == usize::MAX || !(v <= best) {
                                best = v;
                                at = iy * g.in_w + ix;
                            }
                        });
                        yp[oy * g.out_w + ox] = best;
                        // Planes hold far fewer than 2^24 values, so the
                        // index is exact in an f32.
                        ap[oy * g.out_w + ox] = at as f32;
                    }
                }
            });
        Ok(())
    }

    fn max_pool2d_backward(
        &self,
        g: &Geom2d,
        argmax: &Vec<f32>,
        dy: &Vec<f32>,
        dx: &mut Vec<f32>,
    ) -> Result<()> {
        check(g, dx.len(), dy.len())?;
        check_len("max_pool argmax", dy.len(), argmax.len())?;
        let (in_plane, out_plane) = (g.in_h * g.in_w, g.out_plane());
        dx.par_chunks_exact_mut(in_plane)
            .zip(dy.par_chunks_exact(out_plane))
            .zip(argmax.par_chunks_exact(out_plane))
            .with_min_len(min_planes(g))
            .for_each(|((dxp, dyp), ap)| {
                dxp.fill(0.0);
                for (d, &a) in dyp.iter().zip(ap) {
                    dxp[a as usize] += d;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn g2(h: usize, w: usize, k: usize, s: usize, p: usize) -> Geom2d {
        let oh = super::super::window::out_len(h, k, s, p).unwrap();
        let ow = super::super::window::out_len(w, k, s, p).unwrap();
        Geom2d {
            batch: 1,
            in_c: 1,
            in_h: h,
            in_w: w,
            out_c: 1,
            out_h: oh,
            out_w: ow,
            kernel: (k, k),
            stride: (s, s),
            padding: (p, p),
        }
    }

    #[test]
    fn max_and_average_of_a_known_image() {
        let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let g = g2(4, 4, 2, 2, 0);
        let (mut y, mut a) = (vec![0.0; 4], Vec::new());
        Cpu.max_pool2d_forward(&g, &x, &mut y, &mut a).unwrap();
        assert_eq!(y, vec![5.0, 7.0, 13.0, 15.0]);
        let mut dx = vec![9.0; 16];
        Cpu.max_pool2d_backward(&g, &a, &vec![1.0, 2.0, 3.0, 4.0], &mut dx)
            .unwrap();
        assert_eq!(dx[5], 1.0);
        assert_eq!(dx[15], 4.0);
        assert_eq!(dx.iter().sum::<f32>(), 10.0);
        Cpu.avg_pool2d_forward(&g, &x, &mut y).unwrap();
        assert_eq!(y, vec![2.5, 4.5, 10.5, 12.5]);
    }

    #[test]
    fn max_pool_padding_never_wins() {
        let x = vec![-5.0; 9];
        let g = g2(3, 3, 2, 2, 1);
        let (mut y, mut a) = (vec![0.0; 4], Vec::new());
        Cpu.max_pool2d_forward(&g, &x, &mut y, &mut a).unwrap();
        assert_eq!(y, vec![-5.0; 4]);
    }
}
