//! Matrix products with AVX2 + FMA kernels that read both operands in
//! place: the two forms of `avx512` (see there for why there is no
//! packing), on 8-lane vectors and 16 registers, for the x86 CPUs without
//! AVX-512 (AMD before Zen 4, most laptops and desktops).
//!
//! - **axpy form** (`B` stored `[k, n]`): a tile of `MR` = 6 rows by 16
//!   columns of `C` in 12 registers, two of `B` and a broadcast of `A`.
//! - **dot form** (`A` `[m, k]`, `B` `[n, k]`): a tile of 4 x 3 outputs,
//!   each an 8-lane partial dot product, with 3 vectors of `B` and one of
//!   `A` at a time: 16 registers.
//!
//! Tails (fewer than 8 columns, or `k` not a multiple of 8) use masked
//! loads and stores, so nothing outside the operands is touched and
//! nothing is copied. Everything here runs only after
//! `is_x86_feature_detected!` has seen both `avx2` and `fma`.

use super::view::{blocked, Out, View};
use std::arch::x86_64::*;

/// Rows of `C` per axpy tile: 6 x 2 accumulators, two `B` vectors and a
/// broadcast use 15 of the 16 vector registers.
pub(super) const MR: usize = 6;
/// Columns of `C` per axpy tile: two 8-lane vectors.
pub(super) const NR: usize = 16;
/// Axpy form: `k` per block (an `MR x KC` slice of `A` stays in L1) and
/// columns per block (a `KC x NC` block of `B`, 256 KiB, stays in L2).
/// Half of AVX-512's `KC`: on a Zen 3 with 512 KiB of L2 per core, W2's
/// input-gradient product (128x1000x500) ran at 71 to 73 GFLOP/s with 128
/// against 48 to 61 with 256, and the other shapes did not lose.
const KC: usize = 128;
const NC: usize = 512;
/// Dot form tile: `DR` rows of `A` against `DC` rows of `B`.
const DR: usize = 4;
const DC: usize = 3;
/// Dot form: `k` per block and rows of `B` per block, as in `avx512`.
const DKC: usize = 1024;
const DNC: usize = 128;

const _: () = assert!(MR == 6 && NR == 16 && DR == 4 && DC == 3);

/// Lane mask for the first `n` (at most 8) lanes, for maskload/maskstore.
#[inline]
#[target_feature(enable = "avx2")]
fn mask(n: usize) -> __m256i {
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(n.min(8) as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// `C = alpha * A B + beta * C` for an `m x n` output and inner size `k`,
/// with `B` stored `[k, n]` (`b.cs == 1`).
///
/// # Safety
/// AVX2 and FMA must be available; the views must cover `m x k`, `k x n`
/// and `m x n` elements; `C` must not alias `A` or `B`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn axpy_form(
    (m, n, k): (usize, usize, usize),
    alpha: f32,
    a: View,
    b: View,
    beta: f32,
    c: Out,
) {
    debug_assert_eq!(b.cs, 1);
    let rows_of = |left: usize| match left {
        MR.. => MR,
        4..MR => 4,
        2..4 => 2,
        _ => 1,
    };
    // SAFETY: forwarded contract; every tile lies inside the views.
    unsafe {
        blocked((m, n, k), (KC, NC, NR), beta, c, rows_of, |t| {
            let (a, b, c) = (a.at(t.i, t.k0), b.at(t.k0, t.j), c.at(t.i, t.j));
            let (kc, cols, beta) = (t.kc, t.cols, t.beta);
            match t.rows {
                6 => axpy_tile::<6>(kc, cols, alpha, a, b, beta, c),
                4 => axpy_tile::<4>(kc, cols, alpha, a, b, beta, c),
                2 => axpy_tile::<2>(kc, cols, alpha, a, b, beta, c),
                _ => axpy_tile::<1>(kc, cols, alpha, a, b, beta, c),
            }
        })
    }
}

/// One `R x cols` tile (`cols <= 16`) of the axpy form.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn axpy_tile<const R: usize>(
    kc: usize,
    cols: usize,
    alpha: f32,
    a: View,
    b: View,
    beta: f32,
    c: Out,
) {
    let masks = [mask(cols), mask(cols.saturating_sub(8))];
    let mut acc = [[_mm256_setzero_ps(); 2]; R];
    // SAFETY (all loads): row p of B has `cols` values from b.ptr + p * rs,
    // and masked lanes are not read; A(r, p) lies inside its view.
    if cols == NR {
        for p in 0..kc {
            let bp = unsafe { b.ptr.add(p * b.rs) };
            let (b0, b1) = unsafe { (_mm256_loadu_ps(bp), _mm256_loadu_ps(bp.add(8))) };
            let ap = unsafe { a.ptr.add(p * a.cs) };
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm256_set1_ps(unsafe { *ap.add(r * a.rs) });
                acc[0] = _mm256_fmadd_ps(av, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(av, b1, acc[1]);
            }
        }
    } else if cols > 8 {
        for p in 0..kc {
            let bp = unsafe { b.ptr.add(p * b.rs) };
            let b0 = unsafe { _mm256_loadu_ps(bp) };
            let b1 = unsafe { _mm256_maskload_ps(bp.add(8), masks[1]) };
            let ap = unsafe { a.ptr.add(p * a.cs) };
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm256_set1_ps(unsafe { *ap.add(r * a.rs) });
                acc[0] = _mm256_fmadd_ps(av, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(av, b1, acc[1]);
            }
        }
    } else {
        for p in 0..kc {
            let b0 = unsafe { _mm256_maskload_ps(b.ptr.add(p * b.rs), masks[0]) };
            let ap = unsafe { a.ptr.add(p * a.cs) };
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm256_set1_ps(unsafe { *ap.add(r * a.rs) });
                acc[0] = _mm256_fmadd_ps(av, b0, acc[0]);
            }
        }
    }
    let vectors = if cols > 8 { 2 } else { 1 };
    let (alphav, betav) = (_mm256_set1_ps(alpha), _mm256_set1_ps(beta));
    for (r, acc) in acc.iter().enumerate() {
        for (v, acc) in acc.iter().enumerate().take(vectors) {
            let width = (cols - 8 * v).min(8);
            // SAFETY: row r of the tile has `cols` values; masked lanes
            // are neither read nor written.
            unsafe {
                let cp = c.ptr.add(r * c.ld + 8 * v);
                let mut out = _mm256_mul_ps(*acc, alphav);
                if width == 8 {
                    if beta != 0.0 {
                        out = _mm256_fmadd_ps(_mm256_loadu_ps(cp), betav, out);
                    }
                    _mm256_storeu_ps(cp, out);
                } else {
                    if beta != 0.0 {
                        out = _mm256_fmadd_ps(_mm256_maskload_ps(cp, masks[v]), betav, out);
                    }
                    _mm256_maskstore_ps(cp, masks[v], out);
                }
            }
        }
    }
}

/// `C = alpha * A B^T + beta * C` for an `m x n` output and inner size `k`,
/// with `A` stored `[m, k]` and `B` stored `[n, k]` (`a.cs == b.cs == 1`).
///
/// # Safety
/// As for [`axpy_form`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dot_form(
    (m, n, k): (usize, usize, usize),
    alpha: f32,
    a: View,
    b: View,
    beta: f32,
    c: Out,
) {
    debug_assert!(a.cs == 1 && b.cs == 1);
    // SAFETY: forwarded contract; every tile lies inside the views.
    unsafe {
        blocked(
            (m, n, k),
            (DKC, DNC, DC),
            beta,
            c,
            |left| DR.min(left),
            |t| {
                let (a, b, c) = (a.at(t.i, t.k0), b.at(t.j, t.k0), c.at(t.i, t.j));
                let (kc, beta) = (t.kc, t.beta);
                match (t.rows, t.cols) {
                    (4, 3) => dot_tile::<4, 3>(kc, alpha, a, b, beta, c),
                    (4, 2) => dot_tile::<4, 2>(kc, alpha, a, b, beta, c),
                    (4, _) => dot_tile::<4, 1>(kc, alpha, a, b, beta, c),
                    (3, 3) => dot_tile::<3, 3>(kc, alpha, a, b, beta, c),
                    (3, 2) => dot_tile::<3, 2>(kc, alpha, a, b, beta, c),
                    (3, _) => dot_tile::<3, 1>(kc, alpha, a, b, beta, c),
                    (2, 3) => dot_tile::<2, 3>(kc, alpha, a, b, beta, c),
                    (2, 2) => dot_tile::<2, 2>(kc, alpha, a, b, beta, c),
                    (2, _) => dot_tile::<2, 1>(kc, alpha, a, b, beta, c),
                    (_, 3) => dot_tile::<1, 3>(kc, alpha, a, b, beta, c),
                    (_, 2) => dot_tile::<1, 2>(kc, alpha, a, b, beta, c),
                    (_, _) => dot_tile::<1, 1>(kc, alpha, a, b, beta, c),
                }
            },
        )
    }
}

/// One `R x C` tile of the dot form: `R * C` 8-lane partial sums.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_tile<const R: usize, const C: usize>(
    kc: usize,
    alpha: f32,
    a: View,
    b: View,
    beta: f32,
    c: Out,
) {
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    let full = kc / 8 * 8;
    for p in (0..full).step_by(8) {
        let mut bv = [_mm256_setzero_ps(); C];
        for (j, v) in bv.iter_mut().enumerate() {
            // SAFETY: row j of B has kc values from b.ptr + j * rs.
            *v = unsafe { _mm256_loadu_ps(b.ptr.add(j * b.rs + p)) };
        }
        for (i, acc) in acc.iter_mut().enumerate() {
            // SAFETY: as for B.
            let av = unsafe { _mm256_loadu_ps(a.ptr.add(i * a.rs + p)) };
            for (acc, bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm256_fmadd_ps(av, *bv, *acc);
            }
        }
    }
    if full < kc {
        let m = mask(kc - full);
        let mut bv = [_mm256_setzero_ps(); C];
        for (j, v) in bv.iter_mut().enumerate() {
            // SAFETY: as above; masked lanes are not read.
            *v = unsafe { _mm256_maskload_ps(b.ptr.add(j * b.rs + full), m) };
        }
        for (i, acc) in acc.iter_mut().enumerate() {
            // SAFETY: as above.
            let av = unsafe { _mm256_maskload_ps(a.ptr.add(i * a.rs + full), m) };
            for (acc, bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm256_fmadd_ps(av, *bv, *acc);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let sum = alpha * hsum(*v);
            // SAFETY: (i, j) is inside the tile.
            unsafe {
                let cp = c.ptr.add(i * c.ld + j);
                *cp = if beta == 0.0 { sum } else { sum + beta * *cp };
            }
        }
    }
}

/// The sum of the 8 lanes of `v`.
#[inline]
#[target_feature(enable = "avx2")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)))
}
