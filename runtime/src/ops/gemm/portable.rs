//! The portable product: nalgebra's blocked `matrixmultiply` for large
//! products, plain loops for tiny ones. Used where AVX-512 is missing.

use crate::ops::reduce::dot;
use nalgebra::{DMatrixView, DMatrixViewMut, Dyn};

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

/// `C = alpha * op(A) op(B) + beta * C` on slices of the right lengths.
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm(
    (m, n, k): (usize, usize, usize),
    alpha: f32,
    a: &[f32],
    trans_a: bool,
    b: &[f32],
    trans_b: bool,
    beta: f32,
    c: &mut [f32],
) {
    if m <= SMALL || n <= SMALL || k <= SMALL {
        small_gemm((m, n, k), alpha, a, trans_a, b, trans_b, beta, c);
        return;
    }
    let a = view(a, m, k, trans_a);
    let b = view(b, k, n, trans_b);
    let mut c = DMatrixViewMut::<f32, Dyn, Dyn>::from_slice_with_strides_mut(c, m, n, n, 1);
    c.gemm(alpha, &a, &b, beta);
}
