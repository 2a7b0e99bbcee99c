//! The correlation kernels: the forward pass and the input gradient,
//! vectorised over positions (AVX-512, and passes of at most 6 channels)
//! or over channels (AVX2).

use super::simd::{dispatch, load, madd, no_vectorize};
use super::{CpuPath, Pass, TILE_ONE, TILE_TWO};

/// `out[o][p] = sum over taps of src[tap + p] * wt[tap][o]` for every
/// output channel of `pass` and position of its grid, vectorised over
/// positions: a tile holds `Q` channels of `V` vectors of positions, and
/// each tap costs `V` loads of the planes and `Q` broadcast weights for
/// `Q * V` multiply-adds.
///
/// Why over positions: vectorised over channels (as before), a 16-channel
/// layer takes one broadcast per multiply-add, which held the kernel to
/// half the FMA rate; and LeNet's 6-channel gradients filled 6 of 16 lanes.
pub(super) fn correlate(path: CpuPath, pass: &Pass, src: &[f32], wt: &[f32], out: &mut [f32]) {
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
