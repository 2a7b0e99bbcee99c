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
//!
//! The layering: [`crate::backend`] (devices) below, these ops above it,
//! [`Backend`] (a device with every op) here with them, and the layers
//! above, written once against `B: Backend`.

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
pub(crate) mod vector;
pub mod window;

use crate::backend::Device;
use activation::ActivationOp;
use add::AddOp;
use batch_norm::BatchNormOp;
use bias::BiasOp;
use conv::ConvOp;
use dropout::DropoutOp;
use gemm::GemmOp;
use loss::LossOp;
use optim::OptimOp;
use pool::PoolOp;
use softmax::SoftmaxOp;

/// Declares [`Backend`] as [`Device`] plus the listed op traits, and its
/// blanket implementation, from one list: adding an op is one line here.
macro_rules! backend {
    ($($op:ident),* $(,)?) => {
        /// A device with every kernel staticnn needs.
        ///
        /// Implemented automatically for any type that implements [`Device`]
        /// and each op trait; a new backend implements those, never this.
        pub trait Backend: Device $(+ $op)* {}

        impl<T> Backend for T where T: Device $(+ $op)* {}
    };
}

backend!(
    GemmOp,
    BiasOp,
    ActivationOp,
    SoftmaxOp,
    DropoutOp,
    LossOp,
    OptimOp,
    ConvOp,
    PoolOp,
    BatchNormOp,
    AddOp,
);

/// Values from which a memory-bound elementwise op (an activation, a plain
/// SGD step) is split across the rayon pool, and the values each task
/// takes. Below it (every layer of an MLP at batch 64) waking a second
/// thread costs more than the op; above it (LeNet's first convolution at
/// batch 64, 300K values; W2's first weight matrix, 784K) both cores pay
/// off. Ops heavier per value (Adam's division and square root) split
/// sooner.
pub(crate) const PARALLEL_ELEMENTWISE: usize = 1 << 17;
pub(crate) const PARALLEL_CHUNK: usize = 1 << 14;

#[cfg(all(test, feature = "cuda"))]
mod cuda_kernels;

#[cfg(feature = "cuda")]
impl crate::backend::Cuda {
    /// Compile every kernel the runtime has, once, so that the first
    /// training step does not pay for it.
    pub fn warm_up(&self) -> crate::Result<()> {
        for k in CUDA_KERNELS {
            self.module(k)?;
        }
        Ok(())
    }
}

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
