//! The CPU kernels of [`super`].

use super::*;
use crate::backend::{cpu::check_len, Cpu};
use crate::ops::gemm::{cpu_path, gemm_slices, Product};
use rayon::prelude::*;

/// Where one image's unfolded values sit in its run's matrix: rows of
/// `stride` values, the image's `plane` columns starting at `offset`.
#[derive(Clone, Copy)]
struct Place {
    stride: usize,
    offset: usize,
}

/// `dst.copy_from_slice(src)` for the short lines of small images, inline:
/// `copy_from_slice` calls `memmove`, whose call overhead dominated
/// unfolding 14- and 7-pixel lines.
#[inline(always)]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (d, s) in (&mut d).zip(&mut s) {
        let block: [f32; 8] = s.try_into().unwrap_or([0.0; 8]);
        d.copy_from_slice(&block);
    }
    for (d, s) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *d = *s;
    }
}

/// The plane im2col reads and col2im writes: the image itself, or a copy
/// of it with its padding written out as zeros. Reading a padded copy keeps
/// every unfolded line a plain copy, with no bounds arithmetic and no
/// zero-filling of line ends (which took a third of unfolding LeNet's
/// 28-pixel lines).
#[derive(Clone, Copy)]
struct Source {
    rows: usize,
    cols: usize,
}

impl Source {
    fn of(g: &Geom2d) -> Self {
        Source {
            rows: g.in_h + 2 * g.padding.0,
            cols: g.in_w + 2 * g.padding.1,
        }
    }

    fn plane(self) -> usize {
        self.rows * self.cols
    }

    /// Scratch values for one padded image; none without padding.
    fn scratch(self, g: &Geom2d) -> usize {
        if g.padding == (0, 0) {
            0
        } else {
            g.in_c * self.plane()
        }
    }
}

/// Copy image `x` into `pad`, centred in zeros.
fn pad_image(g: &Geom2d, x: &[f32], pad: &mut [f32]) {
    let src = Source::of(g);
    let (ph, pw) = g.padding;
    pad.fill(0.0);
    for (plane, image) in pad
        .chunks_exact_mut(src.plane())
        .zip(x.chunks_exact(g.in_h * g.in_w))
    {
        for (y, line) in image.chunks_exact(g.in_w).enumerate() {
            copy_short(&mut plane[(y + ph) * src.cols + pw..][..g.in_w], line);
        }
    }
}

/// The inverse of [`pad_image`] for gradients: the interior of `pad`.
fn unpad_image(g: &Geom2d, pad: &[f32], dx: &mut [f32]) {
    let src = Source::of(g);
    let (ph, pw) = g.padding;
    for (plane, image) in pad
        .chunks_exact(src.plane())
        .zip(dx.chunks_exact_mut(g.in_h * g.in_w))
    {
        for (y, line) in image.chunks_exact_mut(g.in_w).enumerate() {
            copy_short(line, &plane[(y + ph) * src.cols + pw..][..g.in_w]);
        }
    }
}

/// Unfold one image into its columns of `cols`. `src` is the image as
/// [`Source`] describes it (padded when the convolution pads). Compiled
/// for the CPU path, so that the short lines' copies use its vectors.
fn im2col(g: &Geom2d, src: &[f32], cols: &mut [f32], at: Place) {
    crate::ops::vector::on_cpu_path(
        #[inline(always)]
        || im2col_lines(g, src, cols, at),
    )
}

#[inline(always)]
fn im2col_lines(g: &Geom2d, src: &[f32], cols: &mut [f32], at: Place) {
    let (kh, kw) = g.kernel;
    let (sh, sw) = g.stride;
    let shape = Source::of(g);
    let plane = g.out_plane();
    for row in 0..g.patch() {
        let out = &mut cols[row * at.stride + at.offset..][..plane];
        let (c, i, j) = (row / (kh * kw), row / kw % kh, row % kw);
        let image = &src[c * shape.plane()..][..shape.plane()];
        for (oy, line) in out.chunks_exact_mut(g.out_w).enumerate() {
            let from = &image[(oy * sh + i) * shape.cols + j..];
            if sw == 1 {
                copy_short(line, &from[..g.out_w]);
            } else if sw == 2 && from.len() >= 2 * g.out_w {
                // Every other value, as pairs: vectorised as a
                // deinterleave, where indexing `from[2 * ox]` took a
                // bounds check and a scalar load a value.
                let (pairs, _) = from[..2 * g.out_w].as_chunks::<2>();
                line.iter_mut().zip(pairs).for_each(|(v, p)| *v = p[0]);
            } else {
                for (ox, v) in line.iter_mut().enumerate() {
                    *v = from[ox * sw];
                }
            }
        }
    }
}

/// Fold one image's columns of `cols` back into `dst` (overwritten), laid
/// out as [`Source`] describes: every unfolded value adds to the position
/// it was read from. Compiled for the CPU path, as [`im2col`].
fn col2im(g: &Geom2d, cols: &[f32], at: Place, dst: &mut [f32]) {
    crate::ops::vector::on_cpu_path(
        #[inline(always)]
        || col2im_lines(g, cols, at, dst),
    )
}

#[inline(always)]
fn col2im_lines(g: &Geom2d, cols: &[f32], at: Place, dst: &mut [f32]) {
    let (kh, kw) = g.kernel;
    let (sh, sw) = g.stride;
    let shape = Source::of(g);
    let plane = g.out_plane();
    dst.fill(0.0);
    for row in 0..g.patch() {
        let src = &cols[row * at.stride + at.offset..][..plane];
        let (c, i, j) = (row / (kh * kw), row / kw % kh, row % kw);
        let image = &mut dst[c * shape.plane()..][..shape.plane()];
        for (oy, line) in src.chunks_exact(g.out_w).enumerate() {
            let to = &mut image[(oy * sh + i) * shape.cols + j..];
            if sw == 1 {
                to[..g.out_w]
                    .iter_mut()
                    .zip(line)
                    .for_each(|(d, v)| *d += v);
            } else if sw == 2 && to.len() >= 2 * g.out_w {
                // Pairs, as in `im2col_lines`.
                let (pairs, _) = to[..2 * g.out_w].as_chunks_mut::<2>();
                pairs.iter_mut().zip(line).for_each(|(p, v)| p[0] += v);
            } else {
                for (ox, v) in line.iter().enumerate() {
                    to[ox * sw] += v;
                }
            }
        }
    }
}

/// How the batch splits into runs: one per thread, each a contiguous run
/// of `per` images (the last may be shorter), worked in groups of `group`
/// images.
struct Runs {
    count: usize,
    per: usize,
    group: usize,
}

/// Unfolded values per group that fit in L2 next to the weights.
const GROUP_FLOATS: usize = 64 * 1024;

impl Runs {
    fn new(g: &Geom2d) -> Self {
        let per = g.batch.div_ceil(rayon::current_num_threads().max(1));
        let group = (GROUP_FLOATS / (g.patch() * g.out_plane()).max(1)).clamp(1, per);
        Runs {
            count: g.batch.div_ceil(per),
            per,
            group,
        }
    }

    /// The images of run `t`.
    fn images(&self, t: usize, batch: usize) -> std::ops::Range<usize> {
        t * self.per..((t + 1) * self.per).min(batch)
    }

    /// The groups of a run: `(first image within the run, images)`.
    fn groups(
        &self,
        images: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> {
        let (start, group) = (images.start, self.group);
        images
            .clone()
            .step_by(group)
            .map(move |first| (first - start, first..(first + group).min(images.end)))
    }
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
        keep: bool,
    ) -> Result<()> {
        check_len("conv2d x", g.in_len(), x.len())?;
        check_len("conv2d weight", g.out_c * g.patch(), weight.len())?;
        check_len("conv2d y", g.out_len(), y.len())?;
        if let Some(b) = bias {
            check_len("conv2d bias", g.out_c, b.len())?;
        }
        if shifted::takes_forward(g, cpu_path()) {
            shifted::forward(g, x, weight, bias.map(|b| &b[..]), y, cols, cpu_path());
            return Ok(());
        }
        if direct::applies(g) {
            direct::forward(g, x, weight, bias.map(|b| &b[..]), y, cols, cpu_path());
            return Ok(());
        }
        let (patch, plane, oc) = (g.patch(), g.out_plane(), g.out_c);
        let runs = Runs::new(g);
        // Per run: its unfolded images (all of them when kept for
        // backward, else one group's), room for one group's product
        // before it is copied out in NCHW order,
        // and room for one padded image.
        let kept = if keep { runs.per } else { runs.group };
        let (cols_len, prod_len) = (patch * kept * plane, oc * runs.group * plane);
        // At least one value, so that every run gets a chunk.
        let pad_len = Source::of(g).scratch(g).max(1);
        cols.resize(runs.count * (cols_len + prod_len + pad_len), 0.0);
        let (unfolded, rest) = cols.split_at_mut(runs.count * cols_len);
        let (products, pads) = rest.split_at_mut(runs.count * prod_len);
        unfolded
            .par_chunks_mut(cols_len)
            .zip(products.par_chunks_mut(prod_len))
            .zip(pads.par_chunks_mut(pad_len))
            .zip(y.par_chunks_mut(runs.per * g.out_sample()))
            .enumerate()
            .for_each(|(t, (((cols_t, prod_t), pad_t), y_t))| {
                for (k0, images) in runs.groups(runs.images(t, g.batch)) {
                    let width = images.len() * plane;
                    let at = if keep { k0 * patch * plane } else { 0 };
                    let block = &mut cols_t[at..][..patch * width];
                    for (k, n) in images.clone().enumerate() {
                        let place = Place {
                            stride: width,
                            offset: k * plane,
                        };
                        let image = &x[n * g.in_sample()..][..g.in_sample()];
                        if g.padding == (0, 0) {
                            im2col(g, image, block, place);
                        } else {
                            pad_image(g, image, pad_t);
                            im2col(g, pad_t, block, place);
                        }
                    }
                    let prod = &mut prod_t[..oc * width];
                    gemm_slices(Product::new(oc, width, patch), weight, block, prod);
                    // [oc, group * plane] -> [group, oc, plane], adding the
                    // bias.
                    // (Compiled for the CPU path: at the baseline's 4
                    // lanes, this copy took 2% of a small ResNet's step.)
                    let y_g = &mut y_t[k0 * g.out_sample()..][..images.len() * g.out_sample()];
                    crate::ops::vector::on_cpu_path(
                        #[inline(always)]
                        || {
                            for (k, y_n) in y_g.chunks_exact_mut(g.out_sample()).enumerate() {
                                for (o, y_o) in y_n.chunks_exact_mut(plane).enumerate() {
                                    let b = bias.map_or(0.0, |b| b[o]);
                                    let src = &prod[o * width + k * plane..][..plane];
                                    y_o.iter_mut().zip(src).for_each(|(y, v)| *y = v + b);
                                }
                            }
                        },
                    );
                }
            });
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
        check_len("conv2d x", g.in_len(), x.len())?;
        check_len("conv2d weight", oc * patch, weight.len())?;
        check_len("conv2d dy", g.out_len(), dy.len())?;
        check_len("conv2d dweight", oc * patch, dweight.len())?;
        if let Some(dx) = &dx {
            check_len("conv2d dx", g.in_len(), dx.len())?;
        }
        if let Some(db) = &dbias {
            check_len("conv2d dbias", oc, db.len())?;
        }
        if direct::applies(g) {
            // The direct path keeps nothing in `cols`: it reads `x` again.
            let (dx, dbias) = (dx.map(|d| &mut d[..]), dbias.map(|d| &mut d[..]));
            direct::backward(g, x, weight, dy, dx, dweight, dbias, work, cpu_path());
            return Ok(());
        }
        if shifted::applies(g) {
            let (dx, dbias) = (dx.map(|d| &mut d[..]), dbias.map(|d| &mut d[..]));
            shifted::backward(g, x, weight, dy, dx, dweight, dbias, work, cpu_path());
            return Ok(());
        }
        let runs = Runs::new(g);
        let cols_len = patch * runs.per * plane;
        let pad_len = Source::of(g).scratch(g);
        check_len(
            "conv2d cols",
            runs.count * (cols_len + oc * runs.group * plane + pad_len.max(1)),
            cols.len(),
        )?;
        // Per run: one group's dY gathered as [oc, group * plane], the run's
        // partial dW and db, and (for dx) the group's unfolded gradient.
        let dy_len = oc * runs.group * plane;
        let dcols_len = if dx.is_some() {
            patch * runs.group * plane
        } else {
            0
        };
        // A padded image's gradient is folded into a padded plane first.
        let dpad_len = if dx.is_some() { pad_len } else { 0 };
        let task_len = dy_len + oc * patch + oc + dcols_len + dpad_len;
        work.resize(runs.count * task_len, 0.0);
        // The bias gradient's sums only when it is wanted (a layer without
        // bias, as before a batch norm, has none).
        let want_db = dbias.is_some();
        let run = |t: usize, wk: &mut [f32], mut dx_t: Option<&mut [f32]>| {
            let (dy_g, rest) = wk.split_at_mut(dy_len);
            let (dw_t, rest) = rest.split_at_mut(oc * patch);
            let (db_t, rest) = rest.split_at_mut(oc);
            let (dcols, dpad) = rest.split_at_mut(dcols_len);
            dw_t.fill(0.0);
            db_t.fill(0.0);
            let cols_t = &cols[t * cols_len..][..cols_len];
            for (k0, images) in runs.groups(runs.images(t, g.batch)) {
                let width = images.len() * plane;
                let dy_g = &mut dy_g[..oc * width];
                for (k, n) in images.clone().enumerate() {
                    let dy_n = &dy[n * g.out_sample()..][..g.out_sample()];
                    for (o, src) in dy_n.chunks_exact(plane).enumerate() {
                        dy_g[o * width + k * plane..][..plane].copy_from_slice(src);
                    }
                }
                let block = &cols_t[k0 * patch * plane..][..patch * width];
                // dW += dY [oc, width] x cols^T [width, patch].
                gemm_slices(
                    Product::new(oc, patch, width).b_transposed().accumulate(),
                    dy_g,
                    block,
                    dw_t,
                );
                if want_db {
                    for (d, row) in db_t.iter_mut().zip(dy_g.chunks_exact(width)) {
                        *d += crate::ops::reduce::sum(row);
                    }
                }
                if let Some(dx_t) = dx_t.as_deref_mut() {
                    // dcols = W^T [patch, oc] x dY [oc, width].
                    let dcols = &mut dcols[..patch * width];
                    gemm_slices(
                        Product::new(patch, width, oc).a_transposed(),
                        weight,
                        dy_g,
                        dcols,
                    );
                    let dx_g = &mut dx_t[k0 * g.in_sample()..][..images.len() * g.in_sample()];
                    for (k, dx_n) in dx_g.chunks_exact_mut(g.in_sample()).enumerate() {
                        let place = Place {
                            stride: width,
                            offset: k * plane,
                        };
                        if g.padding == (0, 0) {
                            col2im(g, dcols, place, dx_n);
                        } else {
                            col2im(g, dcols, place, dpad);
                            unpad_image(g, dpad, dx_n);
                        }
                    }
                }
            }
        };
        let dx = dx.map(|d| &mut d[..]);
        for_each_task(work, task_len, dx, runs.per * g.in_sample(), run);
        // Sum the runs' partial gradients.
        let part = |t: usize| &work[t * task_len + dy_len..][..oc * patch + oc];
        dweight.copy_from_slice(&part(0)[..oc * patch]);
        for t in 1..runs.count {
            dweight
                .iter_mut()
                .zip(&part(t)[..oc * patch])
                .for_each(|(d, p)| *d += p);
        }
        if let Some(db) = dbias {
            db.fill(0.0);
            for t in 0..runs.count {
                db.iter_mut()
                    .zip(&part(t)[oc * patch..])
                    .for_each(|(d, p)| *d += p);
            }
        }
        Ok(())
    }
}
