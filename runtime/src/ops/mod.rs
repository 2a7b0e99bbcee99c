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
