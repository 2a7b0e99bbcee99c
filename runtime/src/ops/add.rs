//! Elementwise sum of two buffers: a residual block's output (body plus
//! shortcut) and its input gradient (the two paths' gradients).

use super::vector::on_cpu_path;
use super::{PARALLEL_CHUNK, PARALLEL_ELEMENTWISE};
use crate::backend::{cpu::check_len, Cpu, Device};
use crate::Result;
use rayon::prelude::*;

/// Elementwise sums (residual connections), on one device.
pub trait AddOp: Device {
    /// `out = a + b` (all the same length).
    fn add(&self, a: &Self::Buf, b: &Self::Buf, out: &mut Self::Buf) -> Result<()>;
}

impl AddOp for Cpu {
    fn add(&self, a: &Vec<f32>, b: &Vec<f32>, out: &mut Vec<f32>) -> Result<()> {
        check_len("add a", out.len(), a.len())?;
        check_len("add b", out.len(), b.len())?;
        // Compiled for the CPU path's vectors, and split across threads
        // when long enough, as the activations are.
        let run = |(out, (a, b)): (&mut [f32], (&[f32], &[f32]))| {
            on_cpu_path(
                #[inline(always)]
                || {
                    out.iter_mut()
                        .zip(a.iter().zip(b))
                        .for_each(|(o, (x, y))| *o = x + y)
                },
            )
        };
        if out.len() >= PARALLEL_ELEMENTWISE {
            out.par_chunks_mut(PARALLEL_CHUNK)
                .zip(
                    a.par_chunks(PARALLEL_CHUNK)
                        .zip(b.par_chunks(PARALLEL_CHUNK)),
                )
                .for_each(run);
        } else {
            run((out, (a, b)));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Short sums, and ones long enough to be split across threads (with a
    /// last chunk shorter than the others), against plain sums.
    #[test]
    fn sums_match_elementwise_on_either_side_of_the_split() {
        for n in [
            0,
            1,
            17,
            PARALLEL_ELEMENTWISE - 1,
            2 * PARALLEL_ELEMENTWISE + 5,
        ] {
            let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
            let b: Vec<f32> = (0..n).map(|i| 1.0 - i as f32).collect();
            let mut out = vec![f32::NAN; n];
            Cpu.add(&a, &b, &mut out).unwrap();
            assert!(
                out.iter().enumerate().all(|(i, &o)| o == a[i] + b[i]),
                "{n}"
            );
        }
        let err = Cpu.add(&vec![0.0; 3], &vec![0.0; 2], &mut vec![0.0; 3]);
        assert!(err.is_err());
    }
}
