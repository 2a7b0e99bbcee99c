//! Inverted dropout: zero each value with probability `p` and scale the
//! survivors by `1 / (1 - p)`, so inference needs no rescaling.

use crate::backend::{cpu::check_len, Cpu, Device};
use crate::rng::mix64;
use crate::Result;

/// Whether element `i` survives, decided by hashing `(seed, i)`.
///
/// A counter-based decision needs no generator state, so every backend (and
/// every thread) draws the same mask for the same seed.
#[inline]
pub fn keeps(seed: u64, i: usize, p: f32) -> bool {
    let h = mix64(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    ((h >> 40) as f32 * (1.0 / (1u64 << 24) as f32)) >= p
}

/// Dropout's masks, forward and backward, on one device.
pub trait DropoutOp: Device {
    /// `mask[i] = keeps ? 1/(1-p) : 0`, `y = x * mask`.
    fn dropout_forward(
        &self,
        p: f32,
        seed: u64,
        x: &Self::Buf,
        y: &mut Self::Buf,
        mask: &mut Self::Buf,
    ) -> Result<()>;
    /// `dx = dy * mask`.
    fn dropout_backward(&self, mask: &Self::Buf, dy: &Self::Buf, dx: &mut Self::Buf) -> Result<()>;
}

impl DropoutOp for Cpu {
    fn dropout_forward(
        &self,
        p: f32,
        seed: u64,
        x: &Vec<f32>,
        y: &mut Vec<f32>,
        mask: &mut Vec<f32>,
    ) -> Result<()> {
        check_len("dropout y", x.len(), y.len())?;
        check_len("dropout mask", x.len(), mask.len())?;
        let scale = 1.0 / (1.0 - p);
        for i in 0..x.len() {
            mask[i] = if keeps(seed, i, p) { scale } else { 0.0 };
            y[i] = x[i] * mask[i];
        }
        Ok(())
    }

    fn dropout_backward(&self, mask: &Vec<f32>, dy: &Vec<f32>, dx: &mut Vec<f32>) -> Result<()> {
        check_len("dropout dy", mask.len(), dy.len())?;
        check_len("dropout dx", mask.len(), dx.len())?;
        for i in 0..mask.len() {
            dx[i] = dy[i] * mask[i];
        }
        Ok(())
    }
}

#[cfg(feature = "cuda")]
crate::backend::cuda::kernels!("dropout");

#[cfg(feature = "cuda")]
impl DropoutOp for crate::backend::Cuda {
    fn dropout_forward(
        &self,
        p: f32,
        seed: u64,
        x: &Self::Buf,
        y: &mut Self::Buf,
        mask: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid, KernelArg};
        check_len("dropout y", x.len(), y.len())?;
        check_len("dropout mask", x.len(), mask.len())?;
        // The same scale as the CPU's, computed once on the host.
        let (n, scale) = (int(x.len())?, 1.0 / (1.0 - p));
        let args: [&dyn KernelArg; 7] = [&n, &p, &scale, &seed, &x.ptr(), &y.ptr(), &mask.ptr()];
        self.launch(&CUDA, "dropout_forward", Grid::elements(x.len()), &args)
    }

    fn dropout_backward(&self, mask: &Self::Buf, dy: &Self::Buf, dx: &mut Self::Buf) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid};
        check_len("dropout dy", mask.len(), dy.len())?;
        check_len("dropout dx", mask.len(), dx.len())?;
        let n = int(mask.len())?;
        let grid = Grid::elements(mask.len());
        self.launch(
            &CUDA,
            "dropout_backward",
            grid,
            &[&n, &mask.ptr(), &dy.ptr(), &dx.ptr()],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_about_p() {
        let n = 100_000;
        let kept = (0..n).filter(|&i| keeps(42, i, 0.3)).count();
        let frac = kept as f64 / n as f64;
        assert!((frac - 0.7).abs() < 0.01, "kept {frac}");
    }
}
