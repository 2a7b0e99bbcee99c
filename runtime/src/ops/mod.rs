//! Ops: one module per op, holding the op's kernel trait and its kernels for
//! every backend side by side, so that adding or changing an op touches one
//! file.
//!
//! Kernels take sizes as ordinary arguments, never const generics: each
//! kernel is compiled once, however many shapes a program uses. Layers wrap
//! them in typed calls that inline away.
//!
//! All buffers are row-major; a batch of samples is a `[batch, features]`
//! matrix.

pub mod activation;
pub mod add;
pub mod batch_norm;
pub mod bias;
pub mod conv;
pub mod dropout;
pub mod gemm;
pub mod loss;
pub mod optim;
pub mod pool;
mod reduce;
pub mod softmax;
pub mod window;

/// Values from which a memory-bound elementwise op (an activation, a plain
/// SGD step) is split across the rayon pool, and the values each task
/// takes. Below it (every layer of an MLP at batch 64) waking a second
/// thread costs more than the op; above it (LeNet's first convolution at
/// batch 64, 300K values; W2's first weight matrix, 784K) both cores pay
/// off. Ops heavier per value (Adam's division and square root) split
/// sooner.
pub(crate) const PARALLEL_ELEMENTWISE: usize = 1 << 17;
pub(crate) const PARALLEL_CHUNK: usize = 1 << 14;

/// Every op's CUDA source, for compiling them all at once (warm-up, and
/// the check that each compiles).
#[cfg(feature = "cuda")]
pub const CUDA_KERNELS: &[&crate::backend::cuda::Kernels] = &[
    &activation::CUDA,
    &add::CUDA,
    &batch_norm::CUDA,
    &bias::CUDA,
    &conv::CUDA,
    &dropout::CUDA,
    &loss::CUDA,
    &optim::CUDA,
    &pool::CUDA,
    &softmax::CUDA,
];
