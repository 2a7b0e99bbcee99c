//! Direct convolution on the CPU, for stride 1 and few input values per
//! output (`in_c * kh * kw` at most [`MAX_PATCH`]): a first layer on
//! grey or RGB images, such as LeNet's 1-channel 5x5.
//!
//! Why: unfolding such a layer writes and reads `patch` copies of every
//! pixel to feed a product whose `m` (the output channels, 6 for LeNet) is
//! far below the product kernels' register tiles; unfolding and the
//! product of LeNet's first layer were about a quarter of its training
//! step. Here each output row is computed in registers: 16 outputs of a
//! few channels at a time, one multiply-add per tap and channel, reading
//! the (padded) image in place. (On AVX-512, and for layers of at most 6
//! output channels, the forward pass takes the shifted path's
//! position-vectorised kernel instead, which is faster there: see
//! `shifted::takes_forward`.) The weight gradient runs over the padded
//! pitch in tiles of taps by channels ([`image_dweight`]), and nothing is
//! kept between the passes: the backward pass pads the input again, which
//! costs less than keeping it.
//!
//! The loops are plain Rust over fixed-size arrays, which the compiler
//! keeps in vector registers; they are compiled three times (AVX-512,
//! AVX2 + FMA, and the portable build) and the CPU path of the products
//! ([`crate::ops::gemm::cpu_path`], `STATICNN_CPU`) picks one.

use super::*;
use crate::ops::gemm::CpuPath;
use rayon::prelude::*;

/// The most input values per output that take this path.
pub(super) const MAX_PATCH: usize = 32;

/// Outputs a row block holds: one AVX-512 register, two AVX2 ones.
const L: usize = 16;

/// Whether `g` takes the direct path.
pub(super) fn applies(g: &Geom2d) -> bool {
    g.stride == (1, 1) && g.patch() <= MAX_PATCH
}

/// The padded image (and its gradient) and the row-padded output gradient
/// of one image, in one scratch buffer.
#[derive(Clone, Copy)]
struct Layout {
    /// Padded plane: rows and columns.
    rows: usize,
    cols: usize,
    /// Output row pitch in the gradient copy: `out_w` rounded up to `L`.
    pitch: usize,
}

impl Layout {
    fn of(g: &Geom2d) -> Self {
        Layout {
            rows: g.in_h + 2 * g.padding.0,
            cols: g.in_w + 2 * g.padding.1,
            pitch: g.out_w.div_ceil(L) * L,
        }
    }

    fn plane(self) -> usize {
        self.rows * self.cols
    }

    /// The padded image, with room for the last row block to read (and,
    /// for dx, add zeros) up to `L + kw` values past its end.
    fn image(self, g: &Geom2d) -> usize {
        g.in_c * self.plane() + self.pitch + L + g.kernel.1
    }

    /// The output gradient with its rows padded to `pitch` by zeros.
    fn dy(self, g: &Geom2d) -> usize {
        g.out_c * g.out_h * self.pitch
    }

    /// Positions of [`image_dweight`]'s grid: the output rows at the
    /// padded planes' pitch, rounded up to whole vectors.
    fn grid(self, g: &Geom2d) -> usize {
        (g.out_h * self.cols).next_multiple_of(L)
    }
}

/// Copy image `x` into `pad` (of `layout.image(g)` values), centred in
/// zeros.
fn pad_into(g: &Geom2d, layout: Layout, x: &[f32], pad: &mut [f32]) {
    let (ph, pw) = g.padding;
    pad.fill(0.0);
    for (plane, image) in pad
        .chunks_exact_mut(layout.plane())
        .zip(x.chunks_exact(g.in_h * g.in_w))
    {
        for (y, line) in image.chunks_exact(g.in_w).enumerate() {
            plane[(y + ph) * layout.cols + pw..][..g.in_w].copy_from_slice(line);
        }
    }
}

/// Forward: `y = conv(x, weight) + bias`, with the kernels of `path`.
/// `scratch` is resized to one padded image per task.
pub(super) fn forward(
    g: &Geom2d,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    scratch: &mut Vec<f32>,
    path: CpuPath,
) {
    let layout = Layout::of(g);
    let per = per_task(g);
    let tasks = g.batch.div_ceil(per);
    let pad_len = layout.image(g);
    scratch.resize(tasks * pad_len, 0.0);
    scratch
        .par_chunks_mut(pad_len)
        .zip(y.par_chunks_mut(per * g.out_sample()))
        .enumerate()
        .for_each(|(t, (pad, y_t))| {
            for (k, y_n) in y_t.chunks_exact_mut(g.out_sample()).enumerate() {
                let n = t * per + k;
                pad_into(g, layout, &x[n * g.in_sample()..][..g.in_sample()], pad);
                image_forward(path, g, layout, pad, weight, bias, y_n);
            }
        });
}

/// Backward: `dweight`, `dbias` and (when wanted) `dx`, all overwritten,
/// with the kernels of `path`.
/// `work` is resized to each task's scratch and partial gradients.
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
    let layout = Layout::of(g);
    let per = per_task(g);
    let tasks = g.batch.div_ceil(per);
    let (pad_len, dy_len, dw_len) = (layout.image(g), layout.dy(g), g.out_c * g.patch() * L);
    // The weight gradient reads dY laid on the padded pitch (`dyg`); the
    // input gradient reads it with its rows padded to `pitch` (`dyp`).
    let dyg_len = g.out_c * layout.grid(g);
    // The input gradient's buffers only when it is wanted.
    let (dpad_len, dy_len) = if dx.is_some() {
        (pad_len, dy_len)
    } else {
        (0, 0)
    };
    // Per task: the padded image, its gradient, dY for the input gradient
    // and dY on the grid, and the task's partial dW (`L` lanes of partial
    // sums a weight) and db.
    let task_len = pad_len + dpad_len + dy_len + dyg_len + dw_len + g.out_c;
    work.resize(tasks * task_len, 0.0);
    // The bias gradient's sums only when it is wanted (a layer without
    // bias, as before a batch norm, has none).
    let want_db = dbias.is_some();
    let run = |t: usize, wk: &mut [f32], mut dx_t: Option<&mut [f32]>| {
        let (pad, rest) = wk.split_at_mut(pad_len);
        let (dpad, rest) = rest.split_at_mut(dpad_len);
        let (dyp, rest) = rest.split_at_mut(dy_len);
        let (dyg, rest) = rest.split_at_mut(dyg_len);
        let (dwv, db_t) = rest.split_at_mut(dw_len);
        dwv.fill(0.0);
        db_t.fill(0.0);
        let images = t * per..((t + 1) * per).min(g.batch);
        for (k, n) in images.enumerate() {
            pad_into(g, layout, &x[n * g.in_sample()..][..g.in_sample()], pad);
            let dy_n = &dy[n * g.out_sample()..][..g.out_sample()];
            if want_db {
                for (d, plane) in db_t.iter_mut().zip(dy_n.chunks_exact(g.out_plane())) {
                    *d += crate::ops::reduce::sum(plane);
                }
            }
            {
                dyg.fill(0.0);
                let planes = dyg.chunks_exact_mut(layout.grid(g));
                for (to, plane) in planes.zip(dy_n.chunks_exact(g.out_plane())) {
                    let rows = to.chunks_exact_mut(layout.cols);
                    for (row, line) in rows.zip(plane.chunks_exact(g.out_w)) {
                        row[..g.out_w].copy_from_slice(line);
                    }
                }
                image_dweight(path, g, layout, pad, dyg, dwv);
            }
            if dx_t.is_some() {
                // dY with zeros past each row's end, so that whole blocks
                // can be read and the lanes past the row add nothing.
                dyp.fill(0.0);
                for (row, line) in dyp
                    .chunks_exact_mut(layout.pitch)
                    .zip(dy_n.chunks_exact(g.out_w))
                {
                    row[..g.out_w].copy_from_slice(line);
                }
            }
            if let Some(dx_t) = dx_t.as_deref_mut() {
                dpad.fill(0.0);
                image_dx(path, g, layout, weight, dyp, dpad);
                let dx_n = &mut dx_t[k * g.in_sample()..][..g.in_sample()];
                let (ph, pw) = g.padding;
                for (plane, image) in dpad
                    .chunks_exact(layout.plane())
                    .zip(dx_n.chunks_exact_mut(g.in_h * g.in_w))
                {
                    for (y, line) in image.chunks_exact_mut(g.in_w).enumerate() {
                        line.copy_from_slice(&plane[(y + ph) * layout.cols + pw..][..g.in_w]);
                    }
                }
            }
        }
    };
    for_each_task(work, task_len, dx, per * g.in_sample(), run);
    let part = |t: usize| {
        &work[t * task_len + pad_len + dpad_len + dy_len + dyg_len..][..dw_len + g.out_c]
    };
    dweight.fill(0.0);
    for t in 0..tasks {
        let p = part(t);
        dweight
            .iter_mut()
            .zip(p[..dw_len].chunks_exact(L))
            .for_each(|(d, lanes)| *d += lanes.iter().sum::<f32>());
    }
    if let Some(db) = dbias {
        db.fill(0.0);
        for t in 0..tasks {
            db.iter_mut()
                .zip(&part(t)[dw_len..])
                .for_each(|(d, v)| *d += v);
        }
    }
}

/// Runs `$body` (a call of a generic `#[inline(always)]` kernel) compiled
/// for the CPU path `$path`.
macro_rules! on_path {
    ($path:expr, $name:ident($($arg:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            unsafe fn avx512(g: &Geom2d, l: Layout, a: &[f32], b: &[f32], c: Option<&[f32]>, d: &mut [f32]) {
                $name(g, l, a, b, c, d)
            }
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2(g: &Geom2d, l: Layout, a: &[f32], b: &[f32], c: Option<&[f32]>, d: &mut [f32]) {
                $name(g, l, a, b, c, d)
            }
            match $path {
                // SAFETY: `cpu_path` only names a path this CPU supports,
                // and the kernels do only safe, bounds-checked indexing.
                CpuPath::Avx512 if $path.is_supported() => unsafe { avx512($($arg),*) },
                CpuPath::Avx2 if $path.is_supported() => unsafe { avx2($($arg),*) },
                _ => $name($($arg),*),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = $path;
            $name($($arg),*)
        }
    }};
}

fn image_forward(
    path: CpuPath,
    g: &Geom2d,
    layout: Layout,
    pad: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    on_path!(path, forward_kernel(g, layout, pad, weight, bias, y))
}

fn image_dx(
    path: CpuPath,
    g: &Geom2d,
    layout: Layout,
    weight: &[f32],
    dyp: &[f32],
    dpad: &mut [f32],
) {
    on_path!(path, dx_kernel(g, layout, weight, dyp, None, dpad))
}

/// Splits `0..n` into blocks of 4, 2 and 1 output channels.
fn channel_blocks(n: usize) -> impl Iterator<Item = (usize, usize)> {
    let fours = n / 4 * 4;
    let twos = fours + (n - fours) / 2 * 2;
    (0..fours)
        .step_by(4)
        .map(|o| (o, 4))
        .chain((fours..twos).step_by(2).map(|o| (o, 2)))
        .chain((twos..n).map(|o| (o, 1)))
}

/// One image's outputs, 16 of a row in `G` channels at a time.
///
/// Where: AVX2 (layers with more than 6 output channels) and the portable
/// build; on AVX-512 the forward pass goes to the shifted path's kernels
/// (`shifted::takes_forward`) but for layers padded by at least their
/// kernel's size. (A 4-row tile for AVX-512's 32 registers served only
/// those, and went.)
#[inline(always)]
fn forward_kernel(
    g: &Geom2d,
    layout: Layout,
    pad: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    for (o, n) in channel_blocks(g.out_c) {
        match n {
            4 => forward_block::<4>(g, layout, pad, weight, bias, y, o),
            2 => forward_block::<2>(g, layout, pad, weight, bias, y, o),
            _ => forward_block::<1>(g, layout, pad, weight, bias, y, o),
        }
    }
}

#[inline(always)]
fn forward_block<const G: usize>(
    g: &Geom2d,
    layout: Layout,
    pad: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    o: usize,
) {
    let patch = g.patch();
    let mut w = [[0.0f32; MAX_PATCH]; G];
    let mut b = [0.0f32; G];
    for q in 0..G {
        w[q][..patch].copy_from_slice(&weight[(o + q) * patch..][..patch]);
        b[q] = bias.map_or(0.0, |b| b[o + q]);
    }
    for oy in 0..g.out_h {
        forward_row::<G>(g, layout, pad, &w, &b, y, o, oy);
    }
}

/// Output row `oy` of channels `o..o + G`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn forward_row<const G: usize>(
    g: &Geom2d,
    layout: Layout,
    pad: &[f32],
    w: &[[f32; MAX_PATCH]; G],
    b: &[f32; G],
    y: &mut [f32],
    o: usize,
    oy: usize,
) {
    let (kh, kw, plane) = (g.kernel.0, g.kernel.1, g.out_plane());
    for x0 in (0..g.out_w).step_by(L) {
        let mut acc = [[0.0f32; L]; G];
        for q in 0..G {
            acc[q] = [b[q]; L];
        }
        for c in 0..g.in_c {
            for i in 0..kh {
                let row = c * layout.plane() + (oy + i) * layout.cols + x0;
                for j in 0..kw {
                    let v: [f32; L] = pad[row + j..][..L].try_into().unwrap_or([0.0; L]);
                    let t = (c * kh + i) * kw + j;
                    for q in 0..G {
                        let wq = w[q][t];
                        for l in 0..L {
                            acc[q][l] += wq * v[l];
                        }
                    }
                }
            }
        }
        let n = L.min(g.out_w - x0);
        for q in 0..G {
            y[(o + q) * plane + oy * g.out_w + x0..][..n].copy_from_slice(&acc[q][..n]);
        }
    }
}

/// One image's weight gradient, added to `dwv`: for each output channel
/// and tap, `L` partial sums (lane `l` of the grid's vectors), reduced
/// across lanes once per task by [`backward`]. The lanes add
/// `dyg[o][p] * pad[tap + p]` over the positions `p` of the grid, `out_h`
/// rows of `cols` (the padded width; dY is zero past each row's `out_w`)
/// rounded up to whole vectors, in tiles of 5 taps by 4 channels
/// (AVX-512) or 2 by 2 (AVX2, whose 16 registers hold 8 arrays of 16
/// lanes, and the portable build).
///
/// Why: one tap at a time with a sum across lanes per image, the loop took
/// 5 loads per 4 multiply-adds on 4 dependent accumulators (27 GFLOP/s on
/// LeNet's first layer); a tile of `T` taps by `G` channels takes `T + G`
/// loads for `T * G`. Row by row, it restarted its loop and bounds checks
/// every 2 vectors of a 28-wide row; over the grid a tile is one run of
/// loads checked once (58 and then 106 GFLOP/s with AVX-512).
fn image_dweight(
    path: CpuPath,
    g: &Geom2d,
    layout: Layout,
    pad: &[f32],
    dyg: &[f32],
    dwv: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn avx512(g: &Geom2d, l: Layout, a: &[f32], b: &[f32], c: &mut [f32]) {
            for (o, n) in channel_blocks(g.out_c) {
                for t0 in (0..g.patch()).step_by(5) {
                    match n {
                        4 => dweight_tile::<4, 5>(g, l, a, b, c, o, t0),
                        2 => dweight_tile::<2, 5>(g, l, a, b, c, o, t0),
                        _ => dweight_tile::<1, 5>(g, l, a, b, c, o, t0),
                    }
                }
            }
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(g: &Geom2d, l: Layout, a: &[f32], b: &[f32], c: &mut [f32]) {
            dweight_narrow(g, l, a, b, c)
        }
        match path {
            // SAFETY: only a path the CPU supports is run; the tiles
            // check their reads' reach first.
            CpuPath::Avx512 if path.is_supported() => unsafe { avx512(g, layout, pad, dyg, dwv) },
            CpuPath::Avx2 if path.is_supported() => unsafe { avx2(g, layout, pad, dyg, dwv) },
            _ => dweight_narrow(g, layout, pad, dyg, dwv),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = path;
        dweight_narrow(g, layout, pad, dyg, dwv)
    }
}

/// [`image_dweight`] in 2x2 tiles, for 16 registers.
#[inline(always)]
fn dweight_narrow(g: &Geom2d, l: Layout, a: &[f32], b: &[f32], c: &mut [f32]) {
    for (o, n) in channel_blocks(g.out_c) {
        for t0 in (0..g.patch()).step_by(2) {
            match n {
                4 => {
                    dweight_tile::<2, 2>(g, l, a, b, c, o, t0);
                    dweight_tile::<2, 2>(g, l, a, b, c, o + 2, t0)
                }
                2 => dweight_tile::<2, 2>(g, l, a, b, c, o, t0),
                _ => dweight_tile::<1, 2>(g, l, a, b, c, o, t0),
            }
        }
    }
}

#[inline(always)]
fn dweight_tile<const G: usize, const T: usize>(
    g: &Geom2d,
    layout: Layout,
    pad: &[f32],
    dyg: &[f32],
    dwv: &mut [f32],
    o: usize,
    t0: usize,
) {
    let (kh, kw, patch) = (g.kernel.0, g.kernel.1, g.patch());
    let grid = layout.grid(g);
    let real = T.min(patch - t0);
    let mut at = [0usize; T];
    for (k, a) in at.iter_mut().enumerate() {
        let t = if k < real { t0 + k } else { t0 };
        *a = t / (kh * kw) * layout.plane() + t / kw % kh * layout.cols + t % kw;
    }
    // Reads below: `L` values from `at[k] + p` of `pad` and from
    // `(o + q) * grid + p` of `dyg`, `p + L <= grid`. The last tap's
    // offset plus the grid ends within `layout.image(g)` (the grid is the
    // last `rows - kh + 1` rows, so `at + grid` passes the planes' end by
    // under `L + kw`); checked once here.
    assert!(grid.is_multiple_of(L) && (o + G) * grid <= dyg.len());
    assert!(at.iter().all(|&a| a + grid <= pad.len()));
    let mut acc = [[[0.0f32; L]; T]; G];
    for (q, acc_q) in acc.iter_mut().enumerate() {
        for (k, acc_k) in acc_q.iter_mut().enumerate().take(real) {
            *acc_k = dwv[((o + q) * patch + t0 + k) * L..][..L]
                .try_into()
                .unwrap_or([0.0; L]);
        }
    }
    for p in (0..grid).step_by(L) {
        let mut v = [[0.0f32; L]; T];
        for (v, &a) in v.iter_mut().zip(&at) {
            // SAFETY: within the reach asserted above.
            *v = unsafe { read::<L>(pad, a + p) };
        }
        for (q, acc_q) in acc.iter_mut().enumerate() {
            // SAFETY: within the reach asserted above.
            let d: [f32; L] = unsafe { read::<L>(dyg, (o + q) * grid + p) };
            for (acc_k, v) in acc_q.iter_mut().zip(&v) {
                for l in 0..L {
                    acc_k[l] += d[l] * v[l];
                }
            }
        }
    }
    for (q, acc_q) in acc.iter().enumerate() {
        for (k, acc_k) in acc_q.iter().enumerate().take(real) {
            dwv[((o + q) * patch + t0 + k) * L..][..L].copy_from_slice(acc_k);
        }
    }
}

/// One image's input gradient, added into the padded plane `dpad`: each
/// tap adds its weight times the output gradient where it read.
#[inline(always)]
fn dx_kernel(
    g: &Geom2d,
    layout: Layout,
    weight: &[f32],
    dyp: &[f32],
    _: Option<&[f32]>,
    dpad: &mut [f32],
) {
    let (kh, kw, patch) = (g.kernel.0, g.kernel.1, g.patch());
    let dy_plane = g.out_h * layout.pitch;
    for c in 0..g.in_c {
        for i in 0..kh {
            for j in 0..kw {
                let t = (c * kh + i) * kw + j;
                for oy in 0..g.out_h {
                    let row = c * layout.plane() + (oy + i) * layout.cols + j;
                    for x0 in (0..layout.pitch).step_by(L) {
                        let mut acc = [0.0f32; L];
                        for o in 0..g.out_c {
                            let wv = weight[o * patch + t];
                            let d = &dyp[o * dy_plane + oy * layout.pitch + x0..][..L];
                            for l in 0..L {
                                acc[l] += wv * d[l];
                            }
                        }
                        // Lanes past the row's end add zeros (dY is zero
                        // there) to the next row's start or the slack.
                        let to = &mut dpad[row + x0..][..L];
                        for l in 0..L {
                            to[l] += acc[l];
                        }
                    }
                }
            }
        }
    }
}
