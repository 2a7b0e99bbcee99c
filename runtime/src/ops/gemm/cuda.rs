//! Matrix products on the GPU, through cuBLAS.
//!
//! cuBLAS is column-major and staticnn row-major. A row-major `[r, c]`
//! buffer read column-major is its `[c, r]` transpose, so the row-major
//! `C = op(A) op(B)` is computed as the column-major `C^T = op(B)^T op(A)^T`:
//! the same call with the operands swapped and `m` and `n` exchanged, and
//! no data moved.

use super::GemmOp;
use crate::backend::cuda::{check_len, int, Cuda, CudaBuf};
use crate::{Error, Result};
use cudarc::cublas::{result as cublas, sys::cublasOperation_t};

/// `C = alpha op(A) op(B) + beta C` on device addresses whose extents the
/// caller has checked: `A` is `[m, k]` (`[k, m]` when `trans_a`), `B` is
/// `[k, n]` (`[n, k]` when `trans_b`), `C` is `[m, n]`, all row-major.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_ptrs(
    dev: &Cuda,
    (m, n, k): (usize, usize, usize),
    alpha: f32,
    a: u64,
    trans_a: bool,
    b: u64,
    trans_b: bool,
    beta: f32,
    c: u64,
) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    let op = |t: bool| {
        if t {
            cublasOperation_t::CUBLAS_OP_T
        } else {
            cublasOperation_t::CUBLAS_OP_N
        }
    };
    // Leading dimensions are the row lengths of the row-major buffers.
    let lda = if trans_a { m } else { k };
    let ldb = if trans_b { k } else { n };
    let (mi, ni, ki) = (int(m)?, int(n)?, int(k)?);
    let (lda, ldb) = (int(lda.max(1))?, int(ldb.max(1))?);
    dev.bind()?;
    let blas = dev.blas();
    // SAFETY: the pointers address buffers of the extents above (checked
    // by the callers) on this device; alpha and beta are host values, the
    // handle's default pointer mode.
    unsafe {
        cublas::sgemm(
            *blas.handle(),
            op(trans_b),
            op(trans_a),
            ni,
            mi,
            ki,
            &alpha,
            b as *const f32,
            ldb,
            a as *const f32,
            lda,
            &beta,
            c as *mut f32,
            ni,
        )
    }
    .map_err(|e| Error::Backend {
        backend: "cuda",
        why: format!("cuBLAS sgemm ({m}x{k} by {k}x{n}): {e}"),
    })
}

impl GemmOp for Cuda {
    fn gemm(
        &self,
        mnk: (usize, usize, usize),
        alpha: f32,
        a: &CudaBuf,
        trans_a: bool,
        b: &CudaBuf,
        trans_b: bool,
        beta: f32,
        c: &mut CudaBuf,
    ) -> Result<()> {
        let (m, n, k) = mnk;
        check_len("gemm A", m * k, a.len())?;
        check_len("gemm B", k * n, b.len())?;
        check_len("gemm C", m * n, c.len())?;
        gemm_ptrs(
            self,
            mnk,
            alpha,
            a.ptr(),
            trans_a,
            b.ptr(),
            trans_b,
            beta,
            c.ptr(),
        )
    }
}
