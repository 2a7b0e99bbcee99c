//! Max and average pooling over 2-D windows (global average pooling is an
//! average over the whole image).

use super::window::Geom2d;
use crate::backend::Device;
use crate::Result;

/// Max and average pooling and their gradients, on one device.
pub trait PoolOp: Device {
    /// `y` = the largest value in each window (padding never wins; a NaN
    /// does, as in PyTorch).
    fn max_pool2d_forward(&self, g: &Geom2d, x: &Self::Buf, y: &mut Self::Buf) -> Result<()>;

    /// `dx` (overwritten) gets each output's gradient at its winner: the
    /// first position of its window (row-major) that holds the output's
    /// value, found again from `x` and `y` rather than stored by the forward
    /// pass. `scratch` is sized by the kernel.
    #[allow(clippy::too_many_arguments)]
    fn max_pool2d_backward(
        &self,
        g: &Geom2d,
        x: &Self::Buf,
        y: &Self::Buf,
        dy: &Self::Buf,
        dx: &mut Self::Buf,
        scratch: &mut Self::Buf,
    ) -> Result<()>;

    /// `y` = the mean of each window, padding counted as zeros (PyTorch's
    /// `count_include_pad=True`).
    fn avg_pool2d_forward(&self, g: &Geom2d, x: &Self::Buf, y: &mut Self::Buf) -> Result<()>;

    /// `dx` (overwritten) gets each output's gradient spread evenly over its
    /// window.
    fn avg_pool2d_backward(&self, g: &Geom2d, dy: &Self::Buf, dx: &mut Self::Buf) -> Result<()>;
}

fn check(g: &Geom2d, x: usize, y: usize) -> Result<()> {
    check_on("cpu", g, x, y)
}

/// A pool's input and output lengths on `backend`.
fn check_on(backend: &'static str, g: &Geom2d, x: usize, y: usize) -> Result<()> {
    use crate::backend::check_len_on;
    check_len_on(backend, "pool input", g.in_len(), x)?;
    check_len_on(backend, "pool output", g.out_len(), y)
}

mod cpu;
#[cfg(feature = "cuda")]
mod cuda;
#[cfg(feature = "cuda")]
pub(crate) use cuda::CUDA;
#[cfg(test)]
mod tests;
