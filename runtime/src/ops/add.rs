//! Elementwise sum of two buffers: a residual block's output (body plus
//! shortcut) and its input gradient (the two paths' gradients).

use crate::backend::{cpu::check_len, Cpu, Device};
use crate::Result;

/// Elementwise sums (residual connections), on one device.
pub trait AddOp: Device {
    /// `out = a + b` (all the same length).
    fn add(&self, a: &Self::Buf, b: &Self::Buf, out: &mut Self::Buf) -> Result<()>;
}

impl AddOp for Cpu {
    fn add(&self, a: &Vec<f32>, b: &Vec<f32>, out: &mut Vec<f32>) -> Result<()> {
        check_len("add a", out.len(), a.len())?;
        check_len("add b", out.len(), b.len())?;
        out.iter_mut()
            .zip(a.iter().zip(b))
            .for_each(|(o, (x, y))| *o = x + y);
        Ok(())
    }
}

#[cfg(feature = "cuda")]
crate::backend::cuda::kernels!("add");

#[cfg(feature = "cuda")]
impl AddOp for crate::backend::Cuda {
    fn add(&self, a: &Self::Buf, b: &Self::Buf, out: &mut Self::Buf) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid};
        check_len("add a", out.len(), a.len())?;
        check_len("add b", out.len(), b.len())?;
        let n = int(out.len())?;
        self.launch(
            &CUDA,
            "add",
            Grid::elements(out.len()),
            &[&n, &a.ptr(), &b.ptr(), &out.ptr()],
        )
    }
}
