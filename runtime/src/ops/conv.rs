//! 2-D convolution (cross-correlation, as PyTorch's `Conv2d`) by im2col and
//! matrix product.
//!
//! Each input image is unfolded into a `[patch, out_h * out_w]` matrix
//! (`patch = in_c * kh * kw`), so the convolution of one image is the
//! product `W [out_c, patch] x cols`, written straight into the image's
//! NCHW output. The unfolded batch is kept for the backward pass, where
//! `dW = sum over images of dY cols^T` and the input gradient is
//! `W^T dY` folded back (col2im).

use super::gemm::gemm_slices;
use super::window::Geom2d;
use crate::backend::{cpu::check_len, Cpu, Device};
use crate::Result;
use rayon::prelude::*;

pub trait ConvOp: Device {
    /// `y = conv(x, weight) + bias`. `weight` is `[out_c, in_c, kh, kw]`.
    /// `cols` is scratch that the backward pass reads again; the kernel
    /// sizes it and reuses its memory across calls.
    fn conv2d_forward(
        &self,
        g: &Geom2d,
        x: &Self::Buf,
        weight: &Self::Buf,
        bias: Option<&Self::Buf>,
        y: &mut Self::Buf,
        cols: &mut Self::Buf,
    ) -> Result<()>;

    /// Gradients of the forward pass that filled `cols` from `x`: `dweight`
    /// and `dbias` are overwritten; `dx` (when wanted) too. `work` is
    /// scratch, sized by the kernel.
    #[allow(clippy::too_many_arguments)]
    fn conv2d_backward(
        &self,
        g: &Geom2d,
        x: &Self::Buf,
        cols: &Self::Buf,
        weight: &Self::Buf,
        dy: &Self::Buf,
        dx: Option<&mut Self::Buf>,
        dweight: &mut Self::Buf,
        dbias: Option<&mut Self::Buf>,
        work: &mut Self::Buf,
    ) -> Result<()>;
}

/// Unfold one image `x` (`[in_c, in_h, in_w]`) into `cols`
/// (`[patch, out_h * out_w]`), zeros where the window reads padding.
fn im2col(g: &Geom2d, x: &[f32], cols: &mut [f32]) {
    let (kh, kw) = g.kernel;
    let (sh, sw) = g.stride;
    let (ph, pw) = g.padding;
    let plane = g.out_plane();
    for (row, out) in cols.chunks_exact_mut(plane).enumerate() {
        let (c, i, j) = (row / (kh * kw), row / kw % kh, row % kw);
        let image = &x[c * g.in_h * g.in_w..(c + 1) * g.in_h * g.in_w];
        let (ylo, yhi) = Geom2d::valid(g.out_h, g.in_h, sh, ph, i);
        let (xlo, xhi) = Geom2d::valid(g.out_w, g.in_w, sw, pw, j);
        for (oy, line) in out.chunks_exact_mut(g.out_w).enumerate() {
            if oy < ylo || oy >= yhi {
                line.fill(0.0);
                continue;
            }
            let src = &image[(oy * sh + i - ph) * g.in_w..][..g.in_w];
            line[..xlo].fill(0.0);
            line[xhi..].fill(0.0);
            if sw == 1 {
                let start = xlo + j - pw;
                line[xlo..xhi].copy_from_slice(&src[start..start + (xhi - xlo)]);
            } else {
                for (ox, v) in line[xlo..xhi].iter_mut().enumerate() {
                    *v = src[(xlo + ox) * sw + j - pw];
                }
            }
        }
    }
}

/// Fold `cols` back into one image gradient `dx` (overwritten): every
/// unfolded value adds to the input position it was read from.
fn col2im(g: &Geom2d, cols: &[f32], dx: &mut [f32]) {
    let (kh, kw) = g.kernel;
    let (sh, sw) = g.stride;
    let (ph, pw) = g.padding;
    dx.fill(0.0);
    for (row, src) in cols.chunks_exact(g.out_plane()).enumerate() {
        let (c, i, j) = (row / (kh * kw), row / kw % kh, row % kw);
        let image = &mut dx[c * g.in_h * g.in_w..(c + 1) * g.in_h * g.in_w];
        let (ylo, yhi) = Geom2d::valid(g.out_h, g.in_h, sh, ph, i);
        let (xlo, xhi) = Geom2d::valid(g.out_w, g.in_w, sw, pw, j);
        for oy in ylo..yhi {
            let line = &src[oy * g.out_w..(oy + 1) * g.out_w];
            let dst = &mut image[(oy * sh + i - ph) * g.in_w..][..g.in_w];
            if sw == 1 {
                let start = xlo + j - pw;
                let dst = &mut dst[start..start + (xhi - xlo)];
                dst.iter_mut()
                    .zip(&line[xlo..xhi])
                    .for_each(|(d, v)| *d += v);
            } else {
                for ox in xlo..xhi {
                    dst[ox * sw + j - pw] += line[ox];
                }
            }
        }
    }
}

/// How many tasks to split a batch into: one per thread, each taking a
/// contiguous run of images, so per-task scratch is allocated once.
fn tasks(batch: usize) -> (usize, usize) {
    let per = batch.div_ceil(rayon::current_num_threads().max(1));
    (batch.div_ceil(per), per)
}

impl ConvOp for Cpu {
    fn conv2d_forward(
        &self,
        g: &Geom2d,
        x: &Vec<f32>,
        weight: &Vec<f32>,
        bias: Option<&Vec<f32>>,
        y: &mut Vec<f32>,
        cols: &mut Vec<f32>,
    ) -> Result<()> {
        check_len("conv2d x", g.in_len(), x.len())?;
        check_len("conv2d weight", g.out_c * g.patch(), weight.len())?;
        check_len("conv2d y", g.out_len(), y.len())?;
        if let Some(b) = bias {
            check_len("conv2d bias", g.out_c, b.len())?;
        }
        let (patch, plane) = (g.patch(), g.out_plane());
        // A pointwise convolution multiplies the input itself; nothing to
        // unfold or keep.
        let unfold = !g.is_pointwise();
        cols.resize(if unfold { g.batch * patch * plane } else { 0 }, 0.0);
        let per_cols = if unfold { patch * plane } else { 1 };
        let work = |(x_n, y_n): (&[f32], &mut [f32]), cols_n: &mut [f32]| {
            let src: &[f32] = if unfold {
                im2col(g, x_n, cols_n);
                cols_n
            } else {
                x_n
            };
            gemm_slices(
                (g.out_c, plane, patch),
                1.0,
                weight,
                false,
                src,
                false,
                0.0,
                y_n,
            );
            if let Some(b) = bias {
                for (plane_out, bv) in y_n.chunks_exact_mut(plane).zip(b.iter()) {
                    plane_out.iter_mut().for_each(|v| *v += bv);
                }
            }
        };
        let samples = x
            .par_chunks_exact(g.in_sample())
            .zip(y.par_chunks_exact_mut(g.out_sample()));
        if unfold {
            samples
                .zip(cols.par_chunks_exact_mut(per_cols))
                .for_each(|(xy, c)| work(xy, c));
        } else {
            samples.for_each(|xy| work(xy, &mut []));
        }
        Ok(())
    }

    fn conv2d_backward(
        &self,
        g: &Geom2d,
        x: &Vec<f32>,
        cols: &Vec<f32>,
        weight: &Vec<f32>,
        dy: &Vec<f32>,
        dx: Option<&mut Vec<f32>>,
        dweight: &mut Vec<f32>,
        dbias: Option<&mut Vec<f32>>,
        work: &mut Vec<f32>,
    ) -> Result<()> {
        let (patch, plane, oc) = (g.patch(), g.out_plane(), g.out_c);
        let unfold = !g.is_pointwise();
        check_len("conv2d x", g.in_len(), x.len())?;
        check_len(
            "conv2d cols",
            if unfold { g.batch * patch * plane } else { 0 },
            cols.len(),
        )?;
        check_len("conv2d weight", oc * patch, weight.len())?;
        check_len("conv2d dy", g.out_len(), dy.len())?;
        check_len("conv2d dweight", oc * patch, dweight.len())?;
        if let Some(dx) = &dx {
            check_len("conv2d dx", g.in_len(), dx.len())?;
        }
        if let Some(db) = &dbias {
            check_len("conv2d dbias", oc, db.len())?;
        }
        // Each task accumulates its own dW and db, then they are summed;
        // the input-gradient scratch (unfolded) is per task too.
        let (ntasks, per) = tasks(g.batch);
        let dcols_len = if dx.is_some() { patch * plane } else { 0 };
        let task_len = oc * patch + oc + dcols_len;
        work.resize(ntasks * task_len, 0.0);
        let want_db = dbias.is_some();
        let run = |t: usize, wk: &mut [f32], mut dx_t: Option<&mut [f32]>| {
            let (dw_t, rest) = wk.split_at_mut(oc * patch);
            let (db_t, dcols) = rest.split_at_mut(oc);
            dw_t.fill(0.0);
            db_t.fill(0.0);
            for n in t * per..((t + 1) * per).min(g.batch) {
                let dy_n = &dy[n * g.out_sample()..(n + 1) * g.out_sample()];
                let cols_n = if unfold {
                    &cols[n * patch * plane..(n + 1) * patch * plane]
                } else {
                    &x[n * g.in_sample()..(n + 1) * g.in_sample()]
                };
                // dW += dY_n [oc, plane] x cols_n^T [plane, patch].
                gemm_slices(
                    (oc, patch, plane),
                    1.0,
                    dy_n,
                    false,
                    cols_n,
                    true,
                    1.0,
                    dw_t,
                );
                if want_db {
                    for (d, row) in db_t.iter_mut().zip(dy_n.chunks_exact(plane)) {
                        *d += row.iter().sum::<f32>();
                    }
                }
                if let Some(dx_t) = dx_t.as_deref_mut() {
                    let local = n - t * per;
                    let dx_n = &mut dx_t[local * g.in_sample()..(local + 1) * g.in_sample()];
                    if unfold {
                        // dcols = W^T [patch, oc] x dY_n [oc, plane].
                        gemm_slices(
                            (patch, plane, oc),
                            1.0,
                            weight,
                            true,
                            dy_n,
                            false,
                            0.0,
                            dcols,
                        );
                        col2im(g, dcols, dx_n);
                    } else {
                        gemm_slices(
                            (patch, plane, oc),
                            1.0,
                            weight,
                            true,
                            dy_n,
                            false,
                            0.0,
                            dx_n,
                        );
                    }
                }
            }
        };
        match dx {
            Some(dx) => work
                .par_chunks_exact_mut(task_len)
                .zip(dx.par_chunks_mut(per * g.in_sample()))
                .enumerate()
                .for_each(|(t, (wk, dx_t))| run(t, wk, Some(dx_t))),
            None => work
                .par_chunks_exact_mut(task_len)
                .enumerate()
                .for_each(|(t, wk)| run(t, wk, None)),
        }
        // Sum the tasks' partial gradients into the outputs.
        dweight.copy_from_slice(&work[..oc * patch]);
        for t in 1..ntasks {
            let part = &work[t * task_len..][..oc * patch];
            dweight.iter_mut().zip(part).for_each(|(d, p)| *d += p);
        }
        if let Some(db) = dbias {
            db.fill(0.0);
            for t in 0..ntasks {
                let part = &work[t * task_len + oc * patch..][..oc];
                db.iter_mut().zip(part).for_each(|(d, p)| *d += p);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Direct convolution, the definition.
    fn naive(g: &Geom2d, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
        let mut y = vec![0.0; g.out_len()];
        let (kh, kw) = g.kernel;
        for n in 0..g.batch {
            for o in 0..g.out_c {
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let mut s = b[o];
                        for c in 0..g.in_c {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let iy = (oy * g.stride.0 + i) as isize - g.padding.0 as isize;
                                    let ix = (ox * g.stride.1 + j) as isize - g.padding.1 as isize;
                                    if iy < 0
                                        || ix < 0
                                        || iy >= g.in_h as isize
                                        || ix >= g.in_w as isize
                                    {
                                        continue;
                                    }
                                    s += x[((n * g.in_c + c) * g.in_h + iy as usize) * g.in_w
                                        + ix as usize]
                                        * w[((o * g.in_c + c) * kh + i) * kw + j];
                                }
                            }
                        }
                        y[((n * g.out_c + o) * g.out_h + oy) * g.out_w + ox] = s;
                    }
                }
            }
        }
        y
    }

    fn geom(
        batch: usize,
        c: usize,
        hw: (usize, usize),
        o: usize,
        k: (usize, usize),
        s: (usize, usize),
        p: (usize, usize),
    ) -> Geom2d {
        let out_h = super::super::window::out_len(hw.0, k.0, s.0, p.0).unwrap();
        let out_w = super::super::window::out_len(hw.1, k.1, s.1, p.1).unwrap();
        Geom2d {
            batch,
            in_c: c,
            in_h: hw.0,
            in_w: hw.1,
            out_c: o,
            out_h,
            out_w,
            kernel: k,
            stride: s,
            padding: p,
        }
    }

    #[test]
    fn im2col_product_matches_direct_convolution() {
        let mut rng = Rng::new(3);
        for g in [
            geom(3, 2, (7, 6), 4, (3, 3), (1, 1), (1, 1)),
            geom(2, 3, (9, 8), 7, (3, 2), (2, 3), (1, 0)),
            geom(5, 1, (5, 5), 6, (5, 5), (1, 1), (2, 2)),
            geom(2, 4, (6, 6), 3, (1, 1), (1, 1), (0, 0)),
            geom(2, 4, (6, 6), 3, (1, 1), (2, 2), (0, 0)),
        ] {
            let x: Vec<f32> = (0..g.in_len()).map(|_| rng.normal()).collect();
            let w: Vec<f32> = (0..g.out_c * g.patch()).map(|_| rng.normal()).collect();
            let b: Vec<f32> = (0..g.out_c).map(|_| rng.normal()).collect();
            let mut y = vec![f32::NAN; g.out_len()];
            let mut cols = Vec::new();
            Cpu.conv2d_forward(&g, &x, &w, Some(&b), &mut y, &mut cols)
                .unwrap();
            for (a, e) in y.iter().zip(naive(&g, &x, &w, &b)) {
                assert!((a - e).abs() < 1e-4, "{g:?}: {a} vs {e}");
            }
        }
    }
}
