//! Bias rows: add a bias vector to every row, and its gradient (column sums).

use crate::backend::{cpu::check_len, Cpu, Device};
use crate::Result;

/// Adding a bias to every sample, and its gradient, on one device.
pub trait BiasOp: Device {
    /// `y[r, c] += bias[c]` for a `[rows, cols]` matrix.
    fn add_bias(&self, rows: usize, cols: usize, bias: &Self::Buf, y: &mut Self::Buf)
        -> Result<()>;
    /// `db[c] = sum over r of dy[r, c]` (overwrites `db`).
    fn bias_grad(&self, rows: usize, cols: usize, dy: &Self::Buf, db: &mut Self::Buf)
        -> Result<()>;
}

impl BiasOp for Cpu {
    fn add_bias(&self, rows: usize, cols: usize, bias: &Vec<f32>, y: &mut Vec<f32>) -> Result<()> {
        check_len("add_bias bias", cols, bias.len())?;
        check_len("add_bias y", rows * cols, y.len())?;
        for row in y.chunks_exact_mut(cols) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
        Ok(())
    }

    fn bias_grad(&self, rows: usize, cols: usize, dy: &Vec<f32>, db: &mut Vec<f32>) -> Result<()> {
        check_len("bias_grad dy", rows * cols, dy.len())?;
        check_len("bias_grad db", cols, db.len())?;
        db.fill(0.0);
        for row in dy.chunks_exact(cols) {
            for (d, g) in db.iter_mut().zip(row) {
                *d += g;
            }
        }
        Ok(())
    }
}

#[cfg(feature = "cuda")]
crate::backend::cuda::kernels!("bias");

#[cfg(feature = "cuda")]
impl BiasOp for crate::backend::Cuda {
    fn add_bias(
        &self,
        rows: usize,
        cols: usize,
        bias: &Self::Buf,
        y: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid};
        check_len("add_bias bias", cols, bias.len())?;
        check_len("add_bias y", rows * cols, y.len())?;
        let (r, c) = (int(rows)?, int(cols)?);
        int(rows * cols)?;
        let grid = Grid::elements(rows * cols);
        self.launch(&CUDA, "add_bias", grid, &[&r, &c, &bias.ptr(), &y.ptr()])
    }

    fn bias_grad(
        &self,
        rows: usize,
        cols: usize,
        dy: &Self::Buf,
        db: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid};
        check_len("bias_grad dy", rows * cols, dy.len())?;
        check_len("bias_grad db", cols, db.len())?;
        let (r, c) = (int(rows)?, int(cols)?);
        self.launch(
            &CUDA,
            "bias_grad",
            Grid::elements(cols),
            &[&r, &c, &dy.ptr(), &db.ptr()],
        )
    }
}
