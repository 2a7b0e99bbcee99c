//! Row-wise softmax and its Jacobian-vector product.

use crate::backend::{cpu::check_len, Cpu, Device};
use crate::Result;

/// Softmax over each sample's values and its gradient, on one device.
pub trait SoftmaxOp: Device {
    /// `y[r] = softmax(x[r])` for each row of a `[rows, cols]` matrix.
    fn softmax_forward(
        &self,
        rows: usize,
        cols: usize,
        x: &Self::Buf,
        y: &mut Self::Buf,
    ) -> Result<()>;
    /// `dx[r] = y[r] * (dy[r] - <dy[r], y[r]>)`.
    fn softmax_backward(
        &self,
        rows: usize,
        cols: usize,
        y: &Self::Buf,
        dy: &Self::Buf,
        dx: &mut Self::Buf,
    ) -> Result<()>;
}

/// Softmax of one row, stable for large values (the maximum is subtracted
/// before exponentiating).
pub(crate) fn softmax_row(x: &[f32], y: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (y, &x) in y.iter_mut().zip(x) {
        *y = (x - max).exp();
        sum += *y;
    }
    let inv = 1.0 / sum;
    y.iter_mut().for_each(|v| *v *= inv);
}

impl SoftmaxOp for Cpu {
    fn softmax_forward(
        &self,
        rows: usize,
        cols: usize,
        x: &Vec<f32>,
        y: &mut Vec<f32>,
    ) -> Result<()> {
        check_len("softmax x", rows * cols, x.len())?;
        check_len("softmax y", rows * cols, y.len())?;
        for (x, y) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
            softmax_row(x, y);
        }
        Ok(())
    }

    fn softmax_backward(
        &self,
        rows: usize,
        cols: usize,
        y: &Vec<f32>,
        dy: &Vec<f32>,
        dx: &mut Vec<f32>,
    ) -> Result<()> {
        check_len("softmax y", rows * cols, y.len())?;
        check_len("softmax dy", rows * cols, dy.len())?;
        check_len("softmax dx", rows * cols, dx.len())?;
        for ((y, dy), dx) in y
            .chunks_exact(cols)
            .zip(dy.chunks_exact(cols))
            .zip(dx.chunks_exact_mut(cols))
        {
            let dot: f32 = y.iter().zip(dy).map(|(a, b)| a * b).sum();
            for i in 0..cols {
                dx[i] = y[i] * (dy[i] - dot);
            }
        }
        Ok(())
    }
}

#[cfg(feature = "cuda")]
crate::backend::cuda::kernels!("softmax");

#[cfg(feature = "cuda")]
impl SoftmaxOp for crate::backend::Cuda {
    fn softmax_forward(
        &self,
        rows: usize,
        cols: usize,
        x: &Self::Buf,
        y: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid};
        check_len("softmax x", rows * cols, x.len())?;
        check_len("softmax y", rows * cols, y.len())?;
        let (r, c) = (int(rows)?, int(cols)?);
        let grid = Grid::warp_per_item(rows);
        self.launch(
            &CUDA,
            "softmax_forward",
            grid,
            &[&r, &c, &x.ptr(), &y.ptr()],
        )
    }

    fn softmax_backward(
        &self,
        rows: usize,
        cols: usize,
        y: &Self::Buf,
        dy: &Self::Buf,
        dx: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid};
        check_len("softmax y", rows * cols, y.len())?;
        check_len("softmax dy", rows * cols, dy.len())?;
        check_len("softmax dx", rows * cols, dx.len())?;
        let (r, c) = (int(rows)?, int(cols)?);
        let grid = Grid::warp_per_item(rows);
        self.launch(
            &CUDA,
            "softmax_backward",
            grid,
            &[&r, &c, &y.ptr(), &dy.ptr(), &dx.ptr()],
        )
    }
}
