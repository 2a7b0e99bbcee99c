//! Devices: where buffers live, how they move to and from the host, and
//! (for CUDA) how kernels are compiled and launched. This is the bottom
//! layer: it knows nothing of the ops. Each op's kernel trait, with its
//! CPU and CUDA kernels, lives in [`crate::ops`] above it, which also
//! bundles them with [`Device`] into [`Backend`](crate::Backend).

pub(crate) mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

pub use cpu::Cpu;
#[cfg(feature = "cuda")]
pub use cuda::{Cuda, CudaBuf};

use crate::{Error, Result};
use std::borrow::Cow;
use std::fmt::Debug;

/// Where a backend keeps its buffers, and how they reach the host.
///
/// All values are `f32`. Buffers are flat; shapes live in the types of
/// [`Tensor`](crate::Tensor) and [`Param`](crate::Param).
pub trait Device: Clone + Debug + Send + Sync + 'static {
    /// A buffer of `f32` on this device.
    type Buf: Debug + Send + Sync;

    /// Short name for messages ("cpu", "cuda").
    const NAME: &'static str;

    /// A buffer of `len` zeros.
    fn zeros(&self, len: usize) -> Result<Self::Buf>;

    /// A buffer holding a copy of `host`.
    fn upload(&self, host: &[f32]) -> Result<Self::Buf>;

    /// Like [`upload`](Device::upload), but may take the vector over
    /// without copying (the CPU does).
    fn upload_vec(&self, host: Vec<f32>) -> Result<Self::Buf> {
        self.upload(&host)
    }

    /// The buffer's values on the host: borrowed where the buffer already
    /// is host memory, copied otherwise.
    fn read<'a>(&self, buf: &'a Self::Buf) -> Result<Cow<'a, [f32]>>;

    /// Overwrite `buf` with `host`, which must have the buffer's length.
    fn write(&self, buf: &mut Self::Buf, host: &[f32]) -> Result<()>;

    /// Copy `src` into `dst` (same lengths).
    fn copy(&self, src: &Self::Buf, dst: &mut Self::Buf) -> Result<()>;

    /// Change `buf` to hold `len` values, reusing its memory where it can
    /// (a CPU vector keeps its capacity). The values are unspecified
    /// afterwards.
    fn resize(&self, buf: &mut Self::Buf, len: usize) -> Result<()>;

    /// Set every value of `buf` to `value`.
    fn fill(&self, buf: &mut Self::Buf, value: f32) -> Result<()>;

    /// Number of `f32` values in `buf`.
    fn len(buf: &Self::Buf) -> usize;
}

/// A kernel's buffer of the wrong length: a bug in the caller's sizes,
/// reported as an error naming the backend and the op rather than a panic
/// (or, on a GPU, a stray write) deep inside a kernel.
pub(crate) fn check_len_on(
    backend: &'static str,
    op: &'static str,
    expected: usize,
    got: usize,
) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::Backend {
            backend,
            why: format!("{op}: buffer holds {got} values, expected {expected}"),
        })
    }
}
