//! General matrix product, `C = alpha * op(A) * op(B) + beta * C`.

use super::reduce::dot;
use crate::backend::{cpu::check_len, Cpu, Device};
use crate::Result;
use nalgebra::{DMatrixView, DMatrixViewMut, Dyn};

/// Row-major matrix product with optional transposes.
///
/// `op(A)` is `m x k`: `A` is stored `[m, k]`, or `[k, m]` when `trans_a`.
/// `op(B)` is `k x n`: `B` is stored `[k, n]`, or `[n, k]` when `trans_b`.
/// `C` is stored `[m, n]`. With `beta == 0`, `C` is only written.
pub trait GemmOp: Device {
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
        mnk: (usize, usize, usize),
        alpha: f32,
        a: &Self::Buf,
        trans_a: bool,
        b: &Self::Buf,
        trans_b: bool,
        beta: f32,
        c: &mut Self::Buf,
    ) -> Result<()>;
}

/// A row-major `rows x cols` matrix stored in `data`, seen through
/// nalgebra's column-major views by swapping strides. Dynamic dimensions are
/// what make nalgebra use its blocked `matrixmultiply` kernel.
fn view(
    data: &[f32],
    rows: usize,
    cols: usize,
    transposed: bool,
) -> DMatrixView<'_, f32, Dyn, Dyn> {
    if transposed {
        // Stored [cols, rows]: element (i, j) sits at j * rows + i.
        DMatrixView::from_slice_with_strides(data, rows, cols, 1, rows)
    } else {
        DMatrixView::from_slice_with_strides(data, rows, cols, cols, 1)
    }
}

/// nalgebra hands products to `matrixmultiply` only when every dimension
/// exceeds 5; below that it uses column-wise code that assumes unit row
/// stride and so mis-indexes our row-major views. Those products (batch-1
/// inference, a single output unit, a batch of 4) get loops of their own,
/// written so the compiler vectorises them along contiguous rows.
const SMALL: usize = 5;

#[allow(clippy::too_many_arguments)]
fn small_gemm(
    (m, n, k): (usize, usize, usize),
    alpha: f32,
    a: &[f32],
    trans_a: bool,
    b: &[f32],
    trans_b: bool,
    beta: f32,
    c: &mut [f32],
) {
    let a_at = |i: usize, p: usize| if trans_a { a[p * m + i] } else { a[i * k + p] };
    for i in 0..m {
        let c_row = &mut c[i * n..(i + 1) * n];
        // With beta == 0 the output is write-only (it may hold garbage).
        let old = |v: f32| if beta == 0.0 { 0.0 } else { beta * v };
        if trans_b {
            // B is stored [n, k]: each output is a dot product of two rows.
            for (j, cv) in c_row.iter_mut().enumerate() {
                let b_row = &b[j * k..(j + 1) * k];
                let s = if trans_a {
                    (0..k).map(|p| a_at(i, p) * b_row[p]).sum()
                } else {
                    dot(&a[i * k..(i + 1) * k], b_row)
                };
                *cv = alpha * s + old(*cv);
            }
        } else {
            // B is stored [k, n]: the output row is a sum of B's rows.
            c_row.iter_mut().for_each(|v| *v = old(*v));
            for p in 0..k {
                let av = alpha * a_at(i, p);
                for (cv, bv) in c_row.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                    *cv += av * bv;
                }
            }
        }
    }
}

impl GemmOp for Cpu {
    fn gemm(
        &self,
        (m, n, k): (usize, usize, usize),
        alpha: f32,
        a: &Vec<f32>,
        trans_a: bool,
        b: &Vec<f32>,
        trans_b: bool,
        beta: f32,
        c: &mut Vec<f32>,
    ) -> Result<()> {
        check_len("gemm A", m * k, a.len())?;
        check_len("gemm B", k * n, b.len())?;
        check_len("gemm C", m * n, c.len())?;
        gemm_slices((m, n, k), alpha, a, trans_a, b, trans_b, beta, c);
        Ok(())
    }
}

/// The CPU product on slices whose lengths the caller has checked, for
/// kernels (convolution) that multiply sub-blocks of their buffers.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_slices(
    (m, n, k): (usize, usize, usize),
    alpha: f32,
    a: &[f32],
    trans_a: bool,
    b: &[f32],
    trans_b: bool,
    beta: f32,
    c: &mut [f32],
) {
    debug_assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n);
    if m <= SMALL || n <= SMALL || k <= SMALL {
        small_gemm((m, n, k), alpha, a, trans_a, b, trans_b, beta, c);
        return;
    }
    let a = view(a, m, k, trans_a);
    let b = view(b, k, n, trans_b);
    let mut c = DMatrixViewMut::<f32, Dyn, Dyn>::from_slice_with_strides_mut(c, m, n, n, 1);
    c.gemm(alpha, &a, &b, beta);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f32], ta: bool, b: &[f32], tb: bool) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    let av = if ta { a[p * m + i] } else { a[i * k + p] };
                    let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                    s += av * bv;
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    #[test]
    fn matches_naive_for_every_transpose() {
        let mut rng = crate::Rng::new(9);
        // Sizes above and below nalgebra's small-matrix threshold.
        for &(m, n, k) in &[
            (3, 2, 4),
            (17, 9, 33),
            (64, 10, 128),
            (4, 16, 8),
            (16, 1, 8),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| rng.normal()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.normal()).collect();
            for ta in [false, true] {
                for tb in [false, true] {
                    let want = naive(m, n, k, &a, ta, &b, tb);
                    let mut c = vec![1.0; m * n];
                    Cpu.gemm(
                        (m, n, k),
                        1.0,
                        &a.to_vec(),
                        ta,
                        &b.to_vec(),
                        tb,
                        0.0,
                        &mut c,
                    )
                    .unwrap();
                    for (x, y) in c.iter().zip(&want) {
                        assert!(
                            (x - y).abs() < 1e-4,
                            "{m}x{n}x{k} ta={ta} tb={tb}: {x} vs {y}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn beta_accumulates() {
        let a = vec![1.0, 2.0];
        let b = vec![3.0, 4.0];
        let mut c = vec![10.0];
        Cpu.gemm((1, 1, 2), 1.0, &a, false, &b, false, 1.0, &mut c)
            .unwrap();
        assert_eq!(c, vec![21.0]);
    }

    #[test]
    fn wrong_length_is_an_error() {
        let mut c = vec![0.0; 3];
        assert!(Cpu
            .gemm(
                (2, 2, 2),
                1.0,
                &vec![0.0; 4],
                false,
                &vec![0.0; 4],
                false,
                0.0,
                &mut c
            )
            .is_err());
    }
}
