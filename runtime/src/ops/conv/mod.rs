//! 2-D convolution (cross-correlation, as PyTorch's `Conv2d`) by im2col and
//! matrix product.
//!
//! The batch is split into one run of images per thread, and each run into
//! groups of images whose unfolded values fit in the L2 cache (about
//! 256 KB). A group's images are unfolded side by side into a
//! `[patch, group * out_h * out_w]` matrix (`patch = in_c * kh * kw`), so
//! its convolution is one product `W [out_c, patch] x cols`, copied into
//! NCHW order. Measured on LeNet and a small ResNet, a product per image
//! repeats the matrix product's packing for tiny matrices, and a product
//! per run streams megabytes through memory; groups sit between. The
//! unfolded groups are kept for the backward pass, where `dW = dY cols^T`
//! and the input gradient is `W^T dY` folded back (col2im), one product per
//! group.
//!
//! Stride-1 layers with few values per output (`in_c * kh * kw <= 32`,
//! LeNet's first layer or an RGB stem) take a direct convolution instead
//! (`direct.rs`): their unfolded matrix would be `kh * kw` times the input
//! for a product too thin to pay for its packing, so the kernels slide
//! over a padded copy of the input with the output row in registers.
//! Other stride-1 layers whose padding is below the kernel size (a ResNet's
//! 3x3 layers, LeNet's second layer) take `shifted/`: the unfolded matrix
//! is the padded image read at one offset per tap, so all three passes read
//! the padded image (or padded output gradient) in place and skip the
//! unfolding and folding that took a third of a small ResNet's step.

use super::window::Geom2d;
use crate::backend::Device;
use crate::Result;

/// 2-D convolution (unfolded into products) and its gradients, on one device.
pub trait ConvOp: Device {
    /// `y = conv(x, weight) + bias`. `weight` is `[out_c, in_c, kh, kw]`.
    /// `cols` is scratch, sized by the kernel and reused across calls. With
    /// `keep` (training) it keeps the unfolded input for the backward pass;
    /// without (inference) it need only hold what one group at a time
    /// needs.
    #[allow(clippy::too_many_arguments)]
    fn conv2d_forward(
        &self,
        g: &Geom2d,
        x: &Self::Buf,
        weight: &Self::Buf,
        bias: Option<&Self::Buf>,
        y: &mut Self::Buf,
        cols: &mut Self::Buf,
        keep: bool,
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

/// `dst[x] = src[x] + b` for one short row (an image's 7 to 28 values),
/// in whole blocks of 8 (or 4) values, the last block moved back to end
/// at the row's end (overlapping the one before) rather than a scalar tail.
///
/// Why: rows this short ran almost wholly in the vectorised loop's scalar
/// remainder; copying the shifted kernels' outputs out of their padded
/// pitch took 5% of a small ResNet's step.
#[inline(always)]
fn add_row(dst: &mut [f32], src: &[f32], b: f32) {
    #[inline(always)]
    fn blocks<const B: usize>(dst: &mut [f32], src: &[f32], b: f32) {
        let w = dst.len();
        let mut x = 0;
        loop {
            let at = x.min(w - B);
            let s: [f32; B] = src[at..][..B].try_into().unwrap_or([0.0; B]);
            for (d, s) in dst[at..][..B].iter_mut().zip(s) {
                *d = s + b;
            }
            x += B;
            if x >= w {
                break;
            }
        }
    }
    let src = &src[..dst.len()];
    match dst.len() {
        8.. => blocks::<8>(dst, src, b),
        4.. => blocks::<4>(dst, src, b),
        _ => dst.iter_mut().zip(src).for_each(|(d, &s)| *d = s + b),
    }
}

/// Images per parallel task of the direct and shifted paths: the batch
/// split between the threads, in tasks of about 2^20 multiply-adds or
/// more, so that rayon can balance them.
fn per_task(g: &Geom2d) -> usize {
    let work = g.out_c * g.out_plane() * g.patch();
    (g.batch.div_ceil(rayon::current_num_threads().max(1)))
        .min((1 << 20) / work.max(1) + 1)
        .max(1)
}

/// Calls `run(t, scratch, dx_t)` for every task `t` of a backward pass (a
/// run of images, on every path), in parallel: `scratch` is the task's
/// `task_len` values of `work`, `dx_t` (when the input gradient is
/// wanted) its images' `dx_len` values of `dx`.
fn for_each_task<F>(
    work: &mut [f32],
    task_len: usize,
    dx: Option<&mut [f32]>,
    dx_len: usize,
    run: F,
) where
    F: Fn(usize, &mut [f32], Option<&mut [f32]>) + Sync + Send,
{
    use rayon::prelude::*;
    match dx {
        Some(dx) => work
            .par_chunks_exact_mut(task_len)
            .zip(dx.par_chunks_mut(dx_len))
            .enumerate()
            .for_each(|(t, (wk, dx_t))| run(t, wk, Some(dx_t))),
        None => work
            .par_chunks_exact_mut(task_len)
            .enumerate()
            .for_each(|(t, wk)| run(t, wk, None)),
    }
}

/// `L` values of `s` from `at`, unchecked: for kernels that check their
/// reads' reach once, before their loops.
///
/// # Safety
/// `at + L <= s.len()`.
#[inline(always)]
unsafe fn read<const L: usize>(s: &[f32], at: usize) -> [f32; L] {
    debug_assert!(at + L <= s.len());
    // SAFETY: the caller keeps the read within `s`.
    unsafe { s.as_ptr().add(at).cast::<[f32; L]>().read_unaligned() }
}

mod cpu;
#[cfg(feature = "cuda")]
mod cuda;
mod direct;
mod shifted;
#[cfg(feature = "cuda")]
pub(crate) use cuda::CUDA;
#[cfg(test)]
mod tests;
