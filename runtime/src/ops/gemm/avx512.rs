//! Matrix products with AVX-512 kernels that read both operands in place.
//!
//! Blocked products (BLIS, matrixmultiply) copy ("pack") blocks of both
//! operands into a kernel-friendly order before multiplying. Our products
//! are small (a batch of 64 against a layer of 128 units) or thin (a
//! convolution's 6 or 16 output channels against thousands of unfolded
//! pixels), so packing costs as much as the multiplication: it took a fifth
//! of LeNet's training step. These kernels need no packing, because every
//! product the layers make has one of two forms, and each form has a
//! register tile that reads its operands along their contiguous axis:
//!
//! - **axpy form**, `B` stored `[k, n]` (not transposed): a tile of `MR`
//!   rows by 32 columns of `C` lives in 2 x `MR` registers; each step of `p`
//!   loads 32 contiguous values of `B`'s row `p` and adds them, times a
//!   broadcast `A(i, p)`, to each row. `A` may be stored either way, since it
//!   is only read one value at a time.
//! - **dot form**, `A` stored `[m, k]` and `B` stored `[n, k]` (`x W^T`, the
//!   Dense forward pass): both operands are contiguous along `k`, so a tile
//!   of `DR x DC` outputs keeps one 16-lane partial dot product per output,
//!   and reduces the lanes once at the end.
//!
//! Both loop over `k` in blocks, so that the slice of the operand that is
//! reused across tiles stays in L1 or L2.
//!
//! Everything here runs only after `is_x86_feature_detected!("avx512f")`.

use std::arch::x86_64::*;

use super::view::{blocked, Out, View};

/// Rows of `C` per axpy tile: 12 x 2 accumulators, two `B` vectors and a
/// broadcast use 27 of the 32 vector registers.
pub(super) const MR: usize = 12;
/// Columns of `C` per axpy tile: two 16-lane vectors.
pub(super) const NR: usize = 32;
/// Axpy form: `k` per block (an `MR x KC` slice of `A` stays in L1) and
/// columns per block (a `KC x NC` block of `B`, 512 KiB, stays in L2).
const KC: usize = 256;
const NC: usize = 512;

/// Dot form tile: `DR` rows of `A` against `DC` rows of `B`, 24 partial
/// sums. Each step of 16 along `k` loads 8 vectors of `A` (from L1, reused
/// across the tiles of a row band) and 3 of `B` (from L2), for 24 FMAs: a
/// squarer 4 x 4 tile streamed twice the bytes from L2 per FMA and was
/// bound by it.
const DR: usize = 8;
const DC: usize = 3;
/// Dot form: `k` per block, and rows of `B` per block (`DKC x DNC` values,
/// 512 KiB, stay in L2 while every row block of `A` passes them). One block
/// of `k` covers every layer width we use, so each output is reduced once.
const DKC: usize = 1024;
const DNC: usize = 128;

// The tile dispatch in `axpy_form` and `dot_form` lists the kernel
// variants for these sizes; a new size needs new match arms there, and the
// dot form's reduction holds at most 32 partial sums.
const _: () = assert!(MR == 12 && NR == 32 && DR == 8 && DC == 3 && DR * DC <= 32);

/// Lane mask for the first `n` (at most 16) lanes.
#[inline(always)]
fn mask(n: usize) -> __mmask16 {
    if n >= 16 {
        0xffff
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// `C = alpha * A B + beta * C` for an `m x n` output and inner size `k`,
/// with `B` stored `[k, n]` (`b.cs == 1`).
///
/// # Safety
/// AVX-512F must be available; the views must cover `m x k`, `k x n` and
/// `m x n` elements; `C` must not alias `A` or `B`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn axpy_form(
    (m, n, k): (usize, usize, usize),
    alpha: f32,
    a: View,
    b: View,
    beta: f32,
    c: Out,
) {
    debug_assert_eq!(b.cs, 1);
    // SAFETY: forwarded contract; every tile lies inside the views.
    unsafe {
        blocked((m, n, k), (KC, NC, NR), beta, c, tile_rows, |t| {
            let (a, b, c) = (a.at(t.i, t.k0), b.at(t.k0, t.j), c.at(t.i, t.j));
            let (kc, cols, beta) = (t.kc, t.cols, t.beta);
            match t.rows {
                12 => axpy_tile::<12>(kc, cols, alpha, a, b, beta, c),
                8 => axpy_tile::<8>(kc, cols, alpha, a, b, beta, c),
                6 => axpy_tile::<6>(kc, cols, alpha, a, b, beta, c),
                4 => axpy_tile::<4>(kc, cols, alpha, a, b, beta, c),
                2 => axpy_tile::<2>(kc, cols, alpha, a, b, beta, c),
                _ => axpy_tile::<1>(kc, cols, alpha, a, b, beta, c),
            }
        })
    }
}

/// The tile height for `left` remaining rows: `MR` while it fits, then the
/// largest smaller kernel, so that 6 or 16 output channels need no padding.
#[inline(always)]
fn tile_rows(left: usize) -> usize {
    match left {
        MR.. => MR,
        8..MR => 8,
        6..8 => 6,
        4..6 => 4,
        2..4 => 2,
        _ => 1,
    }
}

/// One `R x cols` tile (`cols <= 32`) of the axpy form.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn axpy_tile<const R: usize>(
    kc: usize,
    cols: usize,
    alpha: f32,
    a: View,
    b: View,
    beta: f32,
    c: Out,
) {
    let masks = [mask(cols), mask(cols.saturating_sub(16))];
    let mut acc = [[_mm512_setzero_ps(); 2]; R];
    if cols > 16 {
        for p in 0..kc {
            // SAFETY: row p of B has `cols` values from b.ptr + p * rs;
            // masked lanes are not read.
            let bp = unsafe { b.ptr.add(p * b.rs) };
            let b0 = unsafe { _mm512_loadu_ps(bp) };
            let b1 = unsafe { _mm512_maskz_loadu_ps(masks[1], bp.add(16)) };
            let ap = unsafe { a.ptr.add(p * a.cs) };
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(unsafe { *ap.add(r * a.rs) });
                acc[0] = _mm512_fmadd_ps(av, b0, acc[0]);
                acc[1] = _mm512_fmadd_ps(av, b1, acc[1]);
            }
        }
    } else {
        for p in 0..kc {
            // SAFETY: as above, with one vector.
            let b0 = unsafe { _mm512_maskz_loadu_ps(masks[0], b.ptr.add(p * b.rs)) };
            let ap = unsafe { a.ptr.add(p * a.cs) };
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(unsafe { *ap.add(r * a.rs) });
                acc[0] = _mm512_fmadd_ps(av, b0, acc[0]);
            }
        }
    }
    let vectors = if cols > 16 { 2 } else { 1 };
    let (alpha, betav) = (_mm512_set1_ps(alpha), _mm512_set1_ps(beta));
    for (r, acc) in acc.iter().enumerate() {
        for v in 0..vectors {
            // SAFETY: row r of the tile has `cols` values; masked lanes
            // are neither read nor written.
            unsafe {
                let cp = c.ptr.add(r * c.ld + 16 * v);
                let mut out = _mm512_mul_ps(acc[v], alpha);
                if beta != 0.0 {
                    out = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(masks[v], cp), betav, out);
                }
                _mm512_mask_storeu_ps(cp, masks[v], out);
            }
        }
    }
}

/// `C = alpha * A B^T + beta * C` for an `m x n` output and inner size `k`,
/// with `A` stored `[m, k]` and `B` stored `[n, k]` (`a.cs == b.cs == 1`).
///
/// # Safety
/// As for [`axpy_form`].
#[target_feature(enable = "avx512f")]
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
                let (kc, cols, beta) = (t.kc, t.cols, t.beta);
                match t.rows {
                    8 => dot_cols::<8>(cols, kc, alpha, a, b, beta, c),
                    7 => dot_cols::<7>(cols, kc, alpha, a, b, beta, c),
                    6 => dot_cols::<6>(cols, kc, alpha, a, b, beta, c),
                    5 => dot_cols::<5>(cols, kc, alpha, a, b, beta, c),
                    4 => dot_cols::<4>(cols, kc, alpha, a, b, beta, c),
                    3 => dot_cols::<3>(cols, kc, alpha, a, b, beta, c),
                    2 => dot_cols::<2>(cols, kc, alpha, a, b, beta, c),
                    _ => dot_cols::<1>(cols, kc, alpha, a, b, beta, c),
                }
            },
        )
    }
}

/// [`dot_tile`] for `R` rows and `cols` (at most [`DC`]) columns.
#[inline(always)]
unsafe fn dot_cols<const R: usize>(
    cols: usize,
    kc: usize,
    alpha: f32,
    a: View,
    b: View,
    beta: f32,
    c: Out,
) {
    // SAFETY: forwarded contract.
    unsafe {
        match cols {
            3 => dot_tile::<R, 3>(kc, alpha, a, b, beta, c),
            2 => dot_tile::<R, 2>(kc, alpha, a, b, beta, c),
            _ => dot_tile::<R, 1>(kc, alpha, a, b, beta, c),
        }
    }
}

/// One `R x C` tile of the dot form: `R * C` 16-lane partial sums.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn dot_tile<const R: usize, const C: usize>(
    kc: usize,
    alpha: f32,
    a: View,
    b: View,
    beta: f32,
    c: Out,
) {
    let mut acc = [[_mm512_setzero_ps(); C]; R];
    let step = |acc: &mut [[__m512; C]; R], p: usize, m: __mmask16| {
        let mut bv = [_mm512_setzero_ps(); C];
        for (j, v) in bv.iter_mut().enumerate() {
            // SAFETY: row j of B has kc values from b.ptr + j * rs; masked
            // lanes are not read.
            *v = unsafe { _mm512_maskz_loadu_ps(m, b.ptr.add(j * b.rs + p)) };
        }
        for (i, acc) in acc.iter_mut().enumerate() {
            // SAFETY: as for B.
            let av = unsafe { _mm512_maskz_loadu_ps(m, a.ptr.add(i * a.rs + p)) };
            for (acc, bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm512_fmadd_ps(av, *bv, *acc);
            }
        }
    };
    let full = kc / 16 * 16;
    for p in (0..full).step_by(16) {
        step(&mut acc, p, 0xffff);
    }
    if full < kc {
        step(&mut acc, full, mask(kc - full));
    }
    // Reduce the partial sums 16 at a time, then write the tile.
    let mut sums = [0.0f32; 32];
    let mut flat = [[_mm512_setzero_ps(); 16]; 2];
    for (i, row) in acc.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let at = i * C + j;
            flat[at / 16][at % 16] = *v;
        }
    }
    for (half, out) in flat
        .iter()
        .zip(sums.chunks_exact_mut(16))
        .take((R * C).div_ceil(16))
    {
        // SAFETY: `out` holds 16 values.
        unsafe { _mm512_storeu_ps(out.as_mut_ptr(), reduce16(half)) };
    }
    for i in 0..R {
        for j in 0..C {
            let sum = alpha * sums[i * C + j];
            // SAFETY: (i, j) is inside the tile.
            unsafe {
                let cp = c.ptr.add(i * c.ld + j);
                *cp = if beta == 0.0 { sum } else { sum + beta * *cp };
            }
        }
    }
}

/// Lane `i` of the result is the sum of the 16 lanes of `v[i]`.
///
/// A tree of pairwise folds: each level takes pairs of vectors, adds the
/// even lanes of each to its odd lanes, and packs the two halves into one
/// vector, halving the vector count and keeping lanes in order. 15 folds
/// of two permutes and an add, against 16 separate reductions of 4
/// shuffles and 4 adds each, all on the port that also does half the FMAs.
#[inline]
#[target_feature(enable = "avx512f")]
fn reduce16(v: &[__m512; 16]) -> __m512 {
    let even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    let odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    let fold = |a: __m512, b: __m512| {
        _mm512_add_ps(
            _mm512_permutex2var_ps(a, even, b),
            _mm512_permutex2var_ps(a, odd, b),
        )
    };
    let mut level = *v;
    let mut len = 16;
    while len > 1 {
        for i in 0..len / 2 {
            level[i] = fold(level[2 * i], level[2 * i + 1]);
        }
        len /= 2;
    }
    level[0]
}
