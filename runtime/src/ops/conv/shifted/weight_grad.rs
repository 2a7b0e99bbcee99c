//! The weight-gradient kernels: a tile of taps by vectors of output
//! channels in registers, summed over an image's positions.

use super::simd::{dispatch, load, madd};
use super::{lanes, read, CpuPath, Pass, TILE_ONE, TILE_TWO};

/// `dwt[tap][o] += sum over positions of src[tap + p] * dyt[p][o]`.
pub(super) fn weight_grad(path: CpuPath, pass: &Pass, src: &[f32], dyt: &[f32], dwt: &mut [f32]) {
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
