//! The CPU backend: buffers are `Vec<f32>`, products go through nalgebra.

use super::Device;
use crate::Result;
use std::borrow::Cow;

/// The CPU. Needs nothing installed; the default backend of every network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cpu;

impl Device for Cpu {
    type Buf = Vec<f32>;
    const NAME: &'static str = "cpu";

    fn zeros(&self, len: usize) -> Result<Vec<f32>> {
        Ok(vec![0.0; len])
    }

    fn upload(&self, host: &[f32]) -> Result<Vec<f32>> {
        Ok(host.to_vec())
    }

    fn upload_vec(&self, host: Vec<f32>) -> Result<Vec<f32>> {
        Ok(host)
    }

    fn read<'a>(&self, buf: &'a Vec<f32>) -> Result<Cow<'a, [f32]>> {
        Ok(Cow::Borrowed(buf))
    }

    fn write(&self, buf: &mut Vec<f32>, host: &[f32]) -> Result<()> {
        check_len("write", buf.len(), host.len())?;
        buf.copy_from_slice(host);
        Ok(())
    }

    fn copy(&self, src: &Vec<f32>, dst: &mut Vec<f32>) -> Result<()> {
        check_len("copy", dst.len(), src.len())?;
        dst.copy_from_slice(src);
        Ok(())
    }

    fn resize(&self, buf: &mut Vec<f32>, len: usize) -> Result<()> {
        // Within capacity this never allocates: a smaller last batch and
        // the full batches after it reuse the same memory.
        buf.resize(len, 0.0);
        Ok(())
    }

    fn fill(&self, buf: &mut Vec<f32>, value: f32) -> Result<()> {
        buf.fill(value);
        Ok(())
    }

    fn len(buf: &Vec<f32>) -> usize {
        buf.len()
    }
}

/// Length check shared by CPU kernels: a mismatch is a bug in the caller's
/// sizes, reported as an error rather than a panic deep inside a kernel.
pub(crate) fn check_len(op: &'static str, expected: usize, got: usize) -> Result<()> {
    super::check_len_on("cpu", op, expected, got)
}
