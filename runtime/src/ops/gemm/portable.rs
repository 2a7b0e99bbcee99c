//! The portable product, for CPUs without the x86 kernels (aarch64: Apple
//! silicon, Graviton; x86 without AVX2) and for the transpose pair they do
//! not cover (`A^T B^T`).
//!
//! The same two forms as `avx512` and `avx2`, reading both operands in
//! place (no packing, no allocation), written in safe Rust on fixed-size
//! lane arrays that the compiler turns into the target's vectors: SSE2 on
//! any x86-64, NEON on aarch64 (where it is baseline). Being plain Rust,
//! it runs and is tested here exactly as it runs there.
//!
//! - axpy form (`B` stored `[k, n]`): tiles of 4 rows by 8 columns of `C`;
//!   each step of `p` adds `A(i, p)` times 8 values of `B`'s row `p`.
//! - dot form (`A` `[m, k]`, `B` `[n, k]`): tiles of 2 x 2 outputs, each an
//!   8-lane partial dot product along `k`, reduced once at the end.

use crate::ops::reduce::dot;

/// Lanes per partial vector (two SSE or NEON registers).
const L: usize = 8;
/// Rows per axpy tile.
const R: usize = 4;
/// `k` per block: an `R x KC` slice of `A` and `KC` rows of an 8-column
/// strip of `B` stay in L1.
const KC: usize = 256;

/// `C = alpha * op(A) op(B) + beta * C` on slices of the right lengths.
pub(super) fn gemm(p: super::Product, a: &[f32], b: &[f32], c: &mut [f32]) {
    let super::Product {
        m,
        n,
        k,
        trans_a,
        trans_b,
        alpha,
        beta,
    } = p;
    // With beta == 0 the output is write-only (it may hold NaN garbage).
    if beta == 0.0 {
        c.fill(0.0);
    } else if beta != 1.0 {
        c.iter_mut().for_each(|v| *v *= beta);
    }
    if k == 0 || m == 0 || n == 0 {
        return;
    }
    match (trans_a, trans_b) {
        (false, true) => dot_form((m, n, k), alpha, a, b, c),
        (_, false) => axpy_form((m, n, k), alpha, a, trans_a, b, c),
        (true, true) => {
            // No layer makes this product: plain loops.
            for i in 0..m {
                for j in 0..n {
                    let s: f32 = (0..k).map(|p| a[p * m + i] * b[j * k + p]).sum();
                    c[i * n + j] += alpha * s;
                }
            }
        }
    }
}

/// `C += alpha * op(A) B`, `B` stored `[k, n]`.
fn axpy_form(
    (m, n, k): (usize, usize, usize),
    alpha: f32,
    a: &[f32],
    trans_a: bool,
    b: &[f32],
    c: &mut [f32],
) {
    let a_at = |i: usize, p: usize| if trans_a { a[p * m + i] } else { a[i * k + p] };
    for k0 in (0..k).step_by(KC) {
        let k1 = (k0 + KC).min(k);
        for i0 in (0..m).step_by(R) {
            let rows = R.min(m - i0);
            for j0 in (0..n).step_by(L) {
                let cols = L.min(n - j0);
                let mut acc = [[0.0f32; L]; R];
                if rows == R && cols == L {
                    for p in k0..k1 {
                        let bv: &[f32; L] = b[p * n + j0..p * n + j0 + L]
                            .try_into()
                            .expect("an 8-value row strip");
                        for (r, acc) in acc.iter_mut().enumerate() {
                            let av = a_at(i0 + r, p);
                            for (acc, bv) in acc.iter_mut().zip(bv) {
                                *acc += av * bv;
                            }
                        }
                    }
                } else {
                    for p in k0..k1 {
                        let bv = &b[p * n + j0..p * n + j0 + cols];
                        for (r, acc) in acc.iter_mut().enumerate().take(rows) {
                            let av = a_at(i0 + r, p);
                            for (acc, bv) in acc.iter_mut().zip(bv) {
                                *acc += av * bv;
                            }
                        }
                    }
                }
                for (r, acc) in acc.iter().enumerate().take(rows) {
                    let row = &mut c[(i0 + r) * n + j0..(i0 + r) * n + j0 + cols];
                    for (cv, acc) in row.iter_mut().zip(acc) {
                        *cv += alpha * acc;
                    }
                }
            }
        }
    }
}

/// `C += alpha * A B^T`, `A` stored `[m, k]`, `B` stored `[n, k]`.
fn dot_form((m, n, k): (usize, usize, usize), alpha: f32, a: &[f32], b: &[f32], c: &mut [f32]) {
    let full = k / L * L;
    for i0 in (0..m).step_by(2) {
        let a0 = &a[i0 * k..(i0 + 1) * k];
        let a1 = (i0 + 1 < m).then(|| &a[(i0 + 1) * k..(i0 + 2) * k]);
        for j0 in (0..n).step_by(2) {
            let b0 = &b[j0 * k..(j0 + 1) * k];
            let b1 = (j0 + 1 < n).then(|| &b[(j0 + 1) * k..(j0 + 2) * k]);
            match (a1, b1) {
                (Some(a1), Some(b1)) => {
                    // 2 x 2 outputs from one pass over four rows.
                    let mut acc = [[0.0f32; L]; 4];
                    for p in (0..full).step_by(L) {
                        let x0: &[f32; L] = a0[p..p + L].try_into().expect("8 values");
                        let x1: &[f32; L] = a1[p..p + L].try_into().expect("8 values");
                        let y0: &[f32; L] = b0[p..p + L].try_into().expect("8 values");
                        let y1: &[f32; L] = b1[p..p + L].try_into().expect("8 values");
                        for l in 0..L {
                            acc[0][l] += x0[l] * y0[l];
                            acc[1][l] += x0[l] * y1[l];
                            acc[2][l] += x1[l] * y0[l];
                            acc[3][l] += x1[l] * y1[l];
                        }
                    }
                    let tail = |x: &[f32], y: &[f32]| -> f32 {
                        x[full..].iter().zip(&y[full..]).map(|(p, q)| p * q).sum()
                    };
                    let sums = [
                        acc[0].iter().sum::<f32>() + tail(a0, b0),
                        acc[1].iter().sum::<f32>() + tail(a0, b1),
                        acc[2].iter().sum::<f32>() + tail(a1, b0),
                        acc[3].iter().sum::<f32>() + tail(a1, b1),
                    ];
                    c[i0 * n + j0] += alpha * sums[0];
                    c[i0 * n + j0 + 1] += alpha * sums[1];
                    c[(i0 + 1) * n + j0] += alpha * sums[2];
                    c[(i0 + 1) * n + j0 + 1] += alpha * sums[3];
                }
                _ => {
                    for (di, x) in std::iter::once(a0).chain(a1).enumerate() {
                        for (dj, y) in std::iter::once(b0).chain(b1).enumerate() {
                            c[(i0 + di) * n + j0 + dj] += alpha * dot(x, y);
                        }
                    }
                }
            }
        }
    }
}
