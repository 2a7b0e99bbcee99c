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

use super::*;
use crate::ops::gemm::CpuPath;
use rayon::prelude::*;

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
/// of positions, see [`correlate`]) ran LeNet's first layer at 2.2x the
/// direct kernel's rate on AVX-512 (100 against 225 us at batch 64) and
/// 2x on AVX2 (158 against 314).
pub(super) fn takes_forward(g: &Geom2d, path: CpuPath) -> bool {
    applies(g)
        || ((lanes(path) == 16 || g.out_c <= 6)
            && g.stride == (1, 1)
            && g.padding.0 < g.kernel.0
            && g.padding.1 < g.kernel.1)
}

/// One stride-1 correlation over padded planes: `chans` planes of
/// `rows x cols` (the input padded by `pad`), `outs` output channels of
/// `out_h x out_w`.
#[derive(Clone, Copy, Debug)]
struct Pass {
    chans: usize,
    in_h: usize,
    in_w: usize,
    pad: (usize, usize),
    kernel: (usize, usize),
    rows: usize,
    cols: usize,
    out_h: usize,
    out_w: usize,
    /// `outs` rounded up to whole vector blocks, the width of the weight
    /// gradient's rows.
    outs_padded: usize,
    /// The width of [`correlate`]'s weight rows: `outs` rounded up to a
    /// multiple of 8 (whole channel tiles) when it runs over positions,
    /// else to whole vector blocks.
    width: usize,
    /// Vector registers per block of output channels (1 or 2).
    vectors: usize,
    /// Output channels, and the kernels' vector width in values.
    outs: usize,
    lanes: usize,
}

impl Pass {
    fn new(
        chans: usize,
        (in_h, in_w): (usize, usize),
        pad: (usize, usize),
        kernel: (usize, usize),
        outs: usize,
        lanes: usize,
    ) -> Self {
        let (rows, cols) = (in_h + 2 * pad.0, in_w + 2 * pad.1);
        let vectors = if outs <= lanes { 1 } else { 2 };
        Pass {
            chans,
            in_h,
            in_w,
            pad,
            kernel,
            rows,
            cols,
            out_h: rows - kernel.0 + 1,
            out_w: cols - kernel.1 + 1,
            outs_padded: outs.next_multiple_of(lanes * vectors),
            width: if by_positions(lanes, outs) {
                outs.next_multiple_of(8)
            } else {
                outs.next_multiple_of(lanes * vectors)
            },
            vectors,
            outs,
            lanes,
        }
    }

    /// The forward pass of `g`.
    fn forward(g: &Geom2d, lanes: usize) -> Self {
        Pass::new(
            g.in_c,
            (g.in_h, g.in_w),
            g.padding,
            g.kernel,
            g.out_c,
            lanes,
        )
    }

    /// The input gradient of `g`: the output gradient padded so that a
    /// full correlation with the flipped kernel gives the input's size.
    fn input_grad(g: &Geom2d, lanes: usize) -> Self {
        let (kh, kw) = g.kernel;
        let pad = (kh - 1 - g.padding.0, kw - 1 - g.padding.1);
        Pass::new(g.out_c, (g.out_h, g.out_w), pad, g.kernel, g.in_c, lanes)
    }

    fn plane(&self) -> usize {
        self.rows * self.cols
    }

    fn taps(&self) -> usize {
        self.chans * self.kernel.0 * self.kernel.1
    }

    fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Calls `f(tap, offset)` for each tap in order, with where it starts
    /// in the padded planes: [`Pass::tap_offset`] without its divisions,
    /// for the kernels' inner loops. (Nested loops calling a closure; an
    /// iterator of `flat_map`s made the kernels half as fast.)
    #[inline(always)]
    fn for_each_tap(&self, mut f: impl FnMut(usize, usize)) {
        let (kh, kw) = self.kernel;
        let mut tap = 0;
        for c in 0..self.chans {
            for i in 0..kh {
                let row = c * self.plane() + i * self.cols;
                for j in 0..kw {
                    f(tap, row + j);
                    tap += 1;
                }
            }
        }
    }

    /// Where tap `t` starts in the padded planes.
    fn tap_offset(&self, t: usize) -> usize {
        let (kh, kw) = self.kernel;
        (t / (kh * kw)) * self.plane() + (t / kw % kh) * self.cols + t % kw
    }

    /// Where output position `p` (row-major) reads in a padded plane,
    /// relative to a tap's start.
    fn position_offset(&self, p: usize) -> usize {
        p / self.out_w * self.cols + p % self.out_w
    }

    /// Positions of the grid that [`correlate`] computes: every output
    /// row at the padded planes' pitch, so `kw - 1` columns a row past the
    /// real ones (their values are never read), rounded up to whole
    /// vectors (or, vectorised over channels, whole tiles of positions). On
    /// this grid a run of positions is one contiguous run of the padded
    /// planes for every tap.
    fn grid(&self) -> usize {
        let tile = if self.by_positions() {
            self.lanes
        } else {
            TILE_ONE
        };
        (self.out_h * self.cols).next_multiple_of(tile)
    }

    /// Whether [`correlate`] runs the pass vectorised over positions
    /// (writing `out[o][p]`) rather than over channels (`out[p][o]`).
    ///
    /// Why both: with AVX-512's 32 registers a tile of 8 channels by 3
    /// vectors of positions takes 11 loads for 24 multiply-adds, and ran
    /// 1.4x the channel-vectorised kernel on a ResNet's 16-channel layers
    /// (one broadcast a multiply-add); with AVX2's 16 a 16-channel block
    /// fills two registers and the channel-vectorised tile (8 loads for 12)
    /// ran 1.25x the best position-vectorised one. Passes of at most 6
    /// channels (LeNet's input gradient) go over positions on every path,
    /// since channel vectors would be mostly padding.
    fn by_positions(&self) -> bool {
        by_positions(self.lanes, self.outs)
    }

    /// Values of the output buffer the pass's kernel writes.
    fn out_len(&self) -> usize {
        if self.by_positions() {
            self.outs * self.grid()
        } else {
            self.grid() * self.outs_padded
        }
    }

    /// Length of the padded planes plus the slack that the grid's last
    /// tile reads past the last plane.
    fn src_len(&self) -> usize {
        let grid = self.grid();
        self.chans * self.plane() + grid - self.out_h * self.cols + self.kernel.1 - 1
    }

    /// Copy one image (`chans` planes of `in_h x in_w`) into `dst` (the
    /// padded planes), centred in zeros.
    fn pad_into(&self, image: &[f32], dst: &mut [f32]) {
        let (ph, pw) = self.pad;
        dst.fill(0.0);
        for (plane, src) in dst
            .chunks_exact_mut(self.plane())
            .zip(image.chunks_exact(self.in_h * self.in_w))
        {
            for (y, line) in src.chunks_exact(self.in_w).enumerate() {
                plane[(y + ph) * self.cols + pw..][..self.in_w].copy_from_slice(line);
            }
        }
    }
}

/// [`Pass::by_positions`] for a pass of `outs` channels on `lanes`-wide
/// vectors.
fn by_positions(lanes: usize, outs: usize) -> bool {
    lanes == 16 || outs <= 6
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

/// Images per parallel task, as in the direct path.
fn per_task(g: &Geom2d) -> usize {
    let work = g.out_c * g.out_plane() * g.patch();
    (g.batch.div_ceil(rayon::current_num_threads().max(1)))
        .min((1 << 20) / work.max(1) + 1)
        .max(1)
}

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
/// and columns of [`correlate`]'s grid, when it ran over channels.
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
                db_t[o] += crate::ops::reduce::sum(plane);
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
    match dx {
        Some(dx) => rest
            .par_chunks_exact_mut(task_len)
            .zip(dx.par_chunks_mut(per * g.in_sample()))
            .enumerate()
            .for_each(|(t, (wk, dx_t))| run(t, wk, Some(dx_t))),
        None => rest
            .par_chunks_exact_mut(task_len)
            .enumerate()
            .for_each(|(t, wk)| run(t, wk, None)),
    }
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

/// `a * b + c`, fused where the path has FMA (`F`); the portable build
/// may lack it, where `mul_add` would be a library call.
#[inline(always)]
fn madd<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
    if F {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Calls `$kernel::<LANES, VECTORS, TILE, FMA>(args)` compiled for `$path`
/// with `$vectors` (1 or 2) vectors per channel block.
macro_rules! dispatch {
    ($path:expr, $vectors:expr, $kernel:ident($($arg:expr),*)) => {
        dispatch!($path, $vectors, TILE_TWO, $kernel($($arg),*))
    };
    // `$narrow`: the tile for 2 vectors on the 16-register paths.
    ($path:expr, $vectors:expr, $narrow:expr, $kernel:ident($($arg:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,fma")]
            unsafe fn avx512(v: usize, a: &Pass, b: &[f32], c: &[f32], d: &mut [f32]) {
                if v == 1 {
                    $kernel::<16, 1, TILE_ONE, true>(a, b, c, d)
                } else {
                    $kernel::<16, 2, TILE_TWO, true>(a, b, c, d)
                }
            }
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2(v: usize, a: &Pass, b: &[f32], c: &[f32], d: &mut [f32]) {
                if v == 1 {
                    $kernel::<8, 1, TILE_ONE, true>(a, b, c, d)
                } else {
                    $kernel::<8, 2, $narrow, true>(a, b, c, d)
                }
            }
            match $path {
                // SAFETY: only a path this CPU supports is run, and the
                // kernels' reads are bounds-checked (weight_grad_all's once
                // a call, before its loops).
                CpuPath::Avx512 if $path.is_supported() => unsafe { avx512($vectors, $($arg),*) },
                CpuPath::Avx2 if $path.is_supported() => unsafe { avx2($vectors, $($arg),*) },
                _ => portable($vectors, $($arg),*),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = $path;
            portable($vectors, $($arg),*)
        }
        fn portable(v: usize, a: &Pass, b: &[f32], c: &[f32], d: &mut [f32]) {
            if v == 1 {
                $kernel::<8, 1, TILE_ONE, false>(a, b, c, d)
            } else {
                $kernel::<8, 2, $narrow, false>(a, b, c, d)
            }
        }
    }};
}

/// `out[o][p] = sum over taps of src[tap + p] * wt[tap][o]` for every
/// output channel of `pass` and position of its grid, vectorised over
/// positions: a tile holds `Q` channels of `V` vectors of positions, and
/// each tap costs `V` loads of the planes and `Q` broadcast weights for
/// `Q * V` multiply-adds.
///
/// Why over positions: vectorised over channels (as before), a 16-channel
/// layer takes one broadcast per multiply-add, which held the kernel to
/// half the FMA rate; and LeNet's 6-channel gradients filled 6 of 16 lanes.
fn correlate(path: CpuPath, pass: &Pass, src: &[f32], wt: &[f32], out: &mut [f32]) {
    if !pass.by_positions() {
        return dispatch!(
            path,
            pass.vectors,
            correlate_channels_all(pass, src, wt, out)
        );
    }
    // Tiles of at most 6 channels for passes that have no more (LeNet's
    // 6-channel input gradient): a tile of 8 would waste a quarter.
    let few = pass.outs <= 6;
    #[cfg(target_arch = "x86_64")]
    {
        // 24 or 16 accumulators of 32 zmm registers, 12 of 16 ymm. A grid
        // of whole 4-vector tiles (a 7x7 image's 64 positions) takes 4x4
        // rather than 3 vectors and a 1-vector tail: 140 against 133
        // GFLOP/s on a ResNet's 32-channel 7x7 layer.
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn avx512(few: bool, a: &Pass, b: &[f32], c: &[f32], d: &mut [f32]) {
            if few {
                correlate_all::<16, 6, 4, true>(a, b, c, d)
            } else if (a.grid() / 16).is_multiple_of(4) {
                correlate_all::<16, 4, 4, true>(a, b, c, d)
            } else {
                correlate_all::<16, 8, 3, true>(a, b, c, d)
            }
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(a: &Pass, b: &[f32], c: &[f32], d: &mut [f32]) {
            // Taken only for passes of at most 6 channels.
            correlate_all::<8, 6, 2, true>(a, b, c, d)
        }
        match path {
            // SAFETY: only a path this CPU supports is run, and the
            // kernel does only safe, bounds-checked indexing.
            CpuPath::Avx512 if path.is_supported() => unsafe { avx512(few, pass, src, wt, out) },
            CpuPath::Avx2 if path.is_supported() => unsafe { avx2(pass, src, wt, out) },
            _ => correlate_portable(pass, src, wt, out),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = path;
        correlate_portable(pass, src, wt, out)
    }
}

fn correlate_portable(pass: &Pass, src: &[f32], wt: &[f32], out: &mut [f32]) {
    correlate_all::<8, 6, 2, false>(pass, src, wt, out)
}

// Channel tiles read `Q` weights of a row `Pass::width` (a multiple of 8)
// wide, from a multiple of `Q`: so `Q` divides 8, or is 6 and taken only
// by passes of at most 6 channels.
#[inline(always)]
fn correlate_all<const L: usize, const Q: usize, const V: usize, const F: bool>(
    pass: &Pass,
    src: &[f32],
    wt: &[f32],
    out: &mut [f32],
) {
    const { assert!(8 % Q == 0 || Q == 6) };
    let vectors = pass.grid() / L;
    for o0 in (0..pass.outs).step_by(Q) {
        let mut p0 = 0;
        for _ in 0..vectors / V {
            correlate_tile::<L, Q, V, F>(pass, src, wt, out, o0, p0);
            p0 += V * L;
        }
        // The grid's last vectors, in a shorter tile.
        match vectors % V {
            1 => correlate_tile::<L, Q, 1, F>(pass, src, wt, out, o0, p0),
            2 => correlate_tile::<L, Q, 2, F>(pass, src, wt, out, o0, p0),
            3 => correlate_tile::<L, Q, 3, F>(pass, src, wt, out, o0, p0),
            _ => {}
        }
    }
}

/// One tile of [`correlate_all`]: channels `o0..o0 + Q` (those past the
/// real ones have zero weights and are not written) at the `V * L`
/// positions from `p0`.
#[inline(always)]
fn correlate_tile<const L: usize, const Q: usize, const V: usize, const F: bool>(
    pass: &Pass,
    src: &[f32],
    wt: &[f32],
    out: &mut [f32],
    o0: usize,
    p0: usize,
) {
    let mut acc = [[[0.0f32; L]; V]; Q];
    pass.for_each_tap(|tap, at| {
        let v = load::<L, V>(src, at + p0);
        let w: &[f32; Q] = wt[tap * pass.width + o0..][..Q]
            .try_into()
            .unwrap_or(&[0.0; Q]);
        for q in 0..Q {
            no_vectorize();
            for k in 0..V {
                for l in 0..L {
                    acc[q][k][l] = madd::<F>(w[q], v[k][l], acc[q][k][l]);
                }
            }
        }
    });
    let grid = pass.grid();
    for (q, acc_q) in acc.iter().enumerate().take(pass.outs - o0) {
        for (k, acc_k) in acc_q.iter().enumerate() {
            out[(o0 + q) * grid + p0 + k * L..][..L].copy_from_slice(acc_k);
        }
    }
}

/// `dwt[tap][o] += sum over positions of src[tap + p] * dyt[p][o]`.
fn weight_grad(path: CpuPath, pass: &Pass, src: &[f32], dyt: &[f32], dwt: &mut [f32]) {
    // 4 taps of 2 vectors with AVX2: 6 (as with AVX-512) took 15 of its 16
    // registers and spilled accumulators, 1.4x slower on LeNet's second
    // layer.
    #[cfg(target_arch = "x86_64")]
    if lanes(path) == 16 && pass.kernel == (3, 3) {
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn avx512(p: &Pass, a: &[f32], b: &[f32], c: &mut [f32]) {
            if p.vectors == 1 {
                weight_grad_3x3::<16, 1, 2>(p, a, b, c)
            } else {
                weight_grad_3x3::<16, 2, 1>(p, a, b, c)
            }
        }
        // SAFETY: `lanes` is 16 only on a CPU that runs AVX-512; the
        // kernel checks its reads' reach before its loops.
        return unsafe { avx512(pass, src, dyt, dwt) };
    }
    dispatch!(path, pass.vectors, 4, weight_grad_all(pass, src, dyt, dwt))
}

/// [`weight_grad_all`] for 3x3 kernels on AVX-512: a tile is every tap of
/// `C` input channels (9 each), so that each tap's read is a row pointer
/// plus a constant column, and the tile's accumulators are `9 * C * V`
/// (18 of the 32 registers).
///
/// Why: the general tile of 12 taps keeps 12 tap offsets, which do not fit
/// the general registers beside the loop's own and were reloaded from the
/// stack every position; here 3 row offsets a channel serve 9 taps. A
/// ResNet's 3x3 layers' backward passes ran 8 to 11% faster.
// Used only by the x86-64 AVX-512 path.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[inline(always)]
fn weight_grad_3x3<const L: usize, const V: usize, const C: usize>(
    pass: &Pass,
    src: &[f32],
    dyt: &[f32],
    dwt: &mut [f32],
) {
    let width = pass.outs_padded;
    let reach = pass.position_offset(pass.positions() - 1) + pass.tap_offset(pass.taps() - 1);
    assert!(pass.kernel == (3, 3) && reach < src.len());
    assert!(width.is_multiple_of(L * V) && pass.positions() * width <= dyt.len());
    assert!(pass.taps() * width <= dwt.len());
    for o0 in (0..width).step_by(L * V) {
        let mut c0 = 0;
        while c0 + C <= pass.chans {
            weight_grad_3x3_tile::<L, V, C>(pass, src, dyt, dwt, o0, c0);
            c0 += C;
        }
        for c in c0..pass.chans {
            weight_grad_3x3_tile::<L, V, 1>(pass, src, dyt, dwt, o0, c);
        }
    }
}

// Used only by the x86-64 AVX-512 path.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[inline(always)]
fn weight_grad_3x3_tile<const L: usize, const V: usize, const C: usize>(
    pass: &Pass,
    src: &[f32],
    dyt: &[f32],
    dwt: &mut [f32],
    o0: usize,
    c0: usize,
) {
    let (width, cols) = (pass.outs_padded, pass.cols);
    let mut acc = [[[[0.0f32; L]; V]; 9]; C];
    for (cc, acc_c) in acc.iter_mut().enumerate() {
        for (t, acc_t) in acc_c.iter_mut().enumerate() {
            *acc_t = load::<L, V>(dwt, ((c0 + cc) * 9 + t) * width + o0);
        }
    }
    let mut p = 0;
    for y in 0..pass.out_h {
        for x in 0..pass.out_w {
            let mut d = [[0.0f32; L]; V];
            for (k, d) in d.iter_mut().enumerate() {
                // SAFETY: within dY^T, asserted by the caller.
                *d = unsafe { read(dyt, p * width + o0 + k * L) };
            }
            for (cc, acc_c) in acc.iter_mut().enumerate() {
                let base = (c0 + cc) * pass.plane() + y * cols + x;
                for i in 0..3 {
                    let row = base + i * cols;
                    for j in 0..3 {
                        // SAFETY: at most the last position's offset plus
                        // the last tap's, asserted in bounds by the caller.
                        let v = unsafe { *src.get_unchecked(row + j) };
                        for k in 0..V {
                            for l in 0..L {
                                acc_c[i * 3 + j][k][l] = v.mul_add(d[k][l], acc_c[i * 3 + j][k][l]);
                            }
                        }
                    }
                }
            }
            p += 1;
        }
    }
    for (cc, acc_c) in acc.iter().enumerate() {
        for (t, acc_t) in acc_c.iter().enumerate() {
            for (k, acc_k) in acc_t.iter().enumerate() {
                dwt[((c0 + cc) * 9 + t) * width + o0 + k * L..][..L].copy_from_slice(acc_k);
            }
        }
    }
}

/// A no-op that keeps LLVM's loop vectorizer off the loop it sits in.
///
/// Why: with the tile's positions contiguous, LLVM vectorizes
/// [`correlate_all`]'s loop over positions (gathering and scattering the
/// accumulators) instead of keeping one register per position with the
/// loop unrolled; that ran ten times slower. An empty `asm!` is opaque to
/// the vectorizer and emits no instruction.
#[inline(always)]
fn no_vectorize() {
    // `asm!` is stable only on some targets; elsewhere (wasm32, for one)
    // `black_box` is the barrier, at the cost of a few instructions.
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64",
        target_arch = "riscv32",
        target_arch = "loongarch64"
    ))]
    // SAFETY: an empty template reads and writes nothing.
    unsafe {
        std::arch::asm!("", options(nomem, nostack, preserves_flags))
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64",
        target_arch = "riscv32",
        target_arch = "loongarch64"
    )))]
    std::hint::black_box(());
}

/// Loads `V` vectors of `L` values from `s` at `at`.
#[inline(always)]
fn load<const L: usize, const V: usize>(s: &[f32], at: usize) -> [[f32; L]; V] {
    let mut v = [[0.0; L]; V];
    for (k, v) in v.iter_mut().enumerate() {
        *v = s[at + k * L..][..L].try_into().unwrap_or([0.0; L]);
    }
    v
}

/// `out[p][o] = sum over taps of src[tap + p] * wt[tap][o]` for every
/// position of `pass`'s grid, vectorised over channels: a tile holds `P`
/// positions of `V` vectors of channels (a 16-channel layer in two ymm
/// registers), one broadcast a position and tap.
#[inline(always)]
fn correlate_channels_all<const L: usize, const V: usize, const P: usize, const F: bool>(
    pass: &Pass,
    src: &[f32],
    wt: &[f32],
    out: &mut [f32],
) {
    let width = pass.outs_padded;
    for o0 in (0..width).step_by(L * V) {
        for p0 in (0..pass.grid()).step_by(P) {
            let mut acc = [[[0.0f32; L]; V]; P];
            pass.for_each_tap(|tap, at| {
                let w = load::<L, V>(wt, tap * width + o0);
                // The tile's P positions, one run of the planes: one
                // bounds check a tap, none a multiply-add.
                let s: &[f32; P] = src[at + p0..][..P].try_into().unwrap_or(&[0.0; P]);
                for q in 0..P {
                    no_vectorize();
                    let v = s[q];
                    for k in 0..V {
                        for l in 0..L {
                            acc[q][k][l] = madd::<F>(v, w[k][l], acc[q][k][l]);
                        }
                    }
                }
            });
            for (q, acc_q) in acc.iter().enumerate() {
                for (k, acc_k) in acc_q.iter().enumerate() {
                    out[(p0 + q) * width + o0 + k * L..][..L].copy_from_slice(acc_k);
                }
            }
        }
    }
}

#[inline(always)]
fn weight_grad_all<const L: usize, const V: usize, const T: usize, const F: bool>(
    pass: &Pass,
    src: &[f32],
    dyt: &[f32],
    dwt: &mut [f32],
) {
    let (taps, width) = (pass.taps(), pass.outs_padded);
    // Every read of `src` below is at `row + x + at[q]`: at most the last
    // position's offset plus the last tap's (offsets grow with the tap).
    // Checked once here, so that the inner loop, which reads T taps a
    // position, has no bounds check per multiply-add (they were as many
    // instructions as the multiply-adds, and kept `at` out of registers).
    let reach = pass.position_offset(pass.positions() - 1) + pass.tap_offset(taps - 1);
    assert!(
        reach < src.len(),
        "weight_grad_all: {} padded values, reads reach {reach}",
        src.len()
    );
    for o0 in (0..width).step_by(L * V) {
        for t0 in (0..taps).step_by(T) {
            // The tile's taps; a short last tile repeats tap 0 and drops it.
            let mut at = [0usize; T];
            for (q, a) in at.iter_mut().enumerate() {
                *a = pass.tap_offset(if t0 + q < taps { t0 + q } else { 0 });
            }
            let mut acc = [[[0.0f32; L]; V]; T];
            for (q, acc_q) in acc.iter_mut().enumerate().take(taps - t0) {
                *acc_q = load::<L, V>(dwt, (t0 + q) * width + o0);
            }
            let mut p = 0;
            for y in 0..pass.out_h {
                let row = y * pass.cols;
                for x in 0..pass.out_w {
                    let d = load::<L, V>(dyt, p * width + o0);
                    for q in 0..T {
                        // SAFETY: row + x is at most the last position's
                        // offset and at[q] the last tap's, so the index is
                        // at most `reach`, asserted in bounds above.
                        let v = unsafe { *src.get_unchecked(row + x + at[q]) };
                        for k in 0..V {
                            for l in 0..L {
                                acc[q][k][l] = madd::<F>(v, d[k][l], acc[q][k][l]);
                            }
                        }
                    }
                    p += 1;
                }
            }
            for (q, acc_q) in acc.iter().enumerate().take(taps - t0) {
                for (k, acc_k) in acc_q.iter().enumerate() {
                    dwt[(t0 + q) * width + o0 + k * L..][..L].copy_from_slice(acc_k);
                }
            }
        }
    }
}
