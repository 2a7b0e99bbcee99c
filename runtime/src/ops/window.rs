//! Geometry of 2-D sliding-window ops (convolution and pooling), shared by
//! their kernels on every backend.

use crate::{Error, Result};

/// Sizes of one sliding-window op over a batch of `[C, H, W]` images.
///
/// Row-major, NCHW: the input is `[batch, in_c, in_h, in_w]` and the output
/// `[batch, out_c, out_h, out_w]` (for pooling `out_c == in_c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geom2d {
    /// Samples in the batch.
    pub batch: usize,
    /// Input channels.
    pub in_c: usize,
    /// Input rows.
    pub in_h: usize,
    /// Input columns.
    pub in_w: usize,
    /// Output channels.
    pub out_c: usize,
    /// Output rows.
    pub out_h: usize,
    /// Output columns.
    pub out_w: usize,
    /// `(rows, cols)` of the window.
    pub kernel: (usize, usize),
    /// `(rows, cols)` the window moves by.
    pub stride: (usize, usize),
    /// Zeros added on each side (`-inf` for max pooling).
    pub padding: (usize, usize),
}

/// Output length of a window of `kernel` sliding by `stride` over `input`
/// padded by `padding` on both sides, rounded down as in PyTorch; `None`
/// when the window does not fit or the stride is zero.
pub fn out_len(input: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = input + 2 * padding;
    if stride == 0 || kernel == 0 || kernel > padded {
        return None;
    }
    Some((padded - kernel) / stride + 1)
}

impl Geom2d {
    /// Check that the output size follows from the input, kernel, stride
    /// and padding; layers call this once when they are built.
    pub fn check(&self, op: &'static str) -> Result<()> {
        let h = out_len(self.in_h, self.kernel.0, self.stride.0, self.padding.0);
        let w = out_len(self.in_w, self.kernel.1, self.stride.1, self.padding.1);
        if h == Some(self.out_h) && w == Some(self.out_w) {
            Ok(())
        } else {
            let gives = match (h, w) {
                (Some(h), Some(w)) => format!("gives {h}x{w}"),
                _ => "does not fit".to_string(),
            };
            Err(Error::config(
                op,
                format!(
                    "a {}x{} window with stride {:?} and padding {:?} on {}x{} inputs {gives}, but the layer's type says {}x{}",
                    self.kernel.0, self.kernel.1, self.stride, self.padding, self.in_h, self.in_w,
                    self.out_h, self.out_w
                ),
            ))
        }
    }

    /// Values in the whole input batch.
    pub fn in_len(&self) -> usize {
        self.batch * self.in_c * self.in_h * self.in_w
    }

    /// Values in the whole output batch.
    pub fn out_len(&self) -> usize {
        self.batch * self.out_c * self.out_h * self.out_w
    }

    /// Values in one input image.
    pub fn in_sample(&self) -> usize {
        self.in_c * self.in_h * self.in_w
    }

    /// Values in one output image.
    pub fn out_sample(&self) -> usize {
        self.out_c * self.out_h * self.out_w
    }

    /// Positions in one output plane.
    pub fn out_plane(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Rows of the unfolded (im2col) matrix: one per input channel and
    /// kernel position.
    pub fn patch(&self) -> usize {
        self.in_c * self.kernel.0 * self.kernel.1
    }
}

/// [`Geom2d`] as CUDA kernels take it: the `Geom` struct of the kernels'
/// prelude, field for field.
#[cfg(feature = "cuda")]
#[repr(C)]
pub(crate) struct CudaGeom([i32; 13]);

#[cfg(feature = "cuda")]
impl crate::backend::cuda::KernelArg for CudaGeom {
    fn as_arg(&self) -> *mut std::ffi::c_void {
        self as *const CudaGeom as *mut std::ffi::c_void
    }
}

#[cfg(feature = "cuda")]
impl Geom2d {
    /// The geometry as a kernel argument; fails for sizes a kernel's `int`
    /// indices cannot reach.
    pub(crate) fn kernel_arg(&self) -> Result<CudaGeom> {
        use crate::backend::cuda::int;
        int(self.in_len().max(self.out_len()))?;
        let g = self;
        Ok(CudaGeom([
            int(g.batch)?,
            int(g.in_c)?,
            int(g.in_h)?,
            int(g.in_w)?,
            int(g.out_c)?,
            int(g.out_h)?,
            int(g.out_w)?,
            int(g.kernel.0)?,
            int(g.kernel.1)?,
            int(g.stride.0)?,
            int(g.stride.1)?,
            int(g.padding.0)?,
            int(g.padding.1)?,
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lengths_follow_pytorch() {
        assert_eq!(out_len(28, 5, 1, 2), Some(28));
        assert_eq!(out_len(28, 5, 1, 0), Some(24));
        assert_eq!(out_len(7, 3, 2, 1), Some(4));
        assert_eq!(out_len(8, 3, 2, 1), Some(4));
        assert_eq!(out_len(3, 5, 1, 0), None);
        assert_eq!(out_len(3, 2, 0, 0), None);
    }
}
