//! Matrix products on the GPU, through cuBLAS.
//!
//! cuBLAS is column-major and staticnn row-major. A row-major `[r, c]`
//! buffer read column-major is its `[c, r]` transpose, so the row-major
//! `C = op(A) op(B)` is computed as the column-major `C^T = op(B)^T op(A)^T`:
//! the same call with the operands swapped and `m` and `n` exchanged, and
//! no data moved.

use super::{GemmOp, Product};
use crate::backend::cuda::{check_len, int, Cuda, CudaBuf};
use crate::{Error, Result};
use cudarc::cublas::{result as cublas, sys::cublasOperation_t};

/// The product `p` on device addresses whose extents the caller has
/// checked (`p.lens()` values each).
pub(crate) fn gemm_ptrs(dev: &Cuda, p: Product, a: u64, b: u64, c: u64) -> Result<()> {
    let Product {
        m,
        n,
        k,
        trans_a,
        trans_b,
        alpha,
        beta,
    } = p;
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
    fn gemm(&self, p: Product, a: &CudaBuf, b: &CudaBuf, c: &mut CudaBuf) -> Result<()> {
        let (la, lb, lc) = p.lens();
        check_len("gemm A", la, a.len())?;
        check_len("gemm B", lb, b.len())?;
        check_len("gemm C", lc, c.len())?;
        gemm_ptrs(self, p, a.ptr(), b.ptr(), c.ptr())
    }
}
