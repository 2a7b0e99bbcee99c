#![warn(missing_docs)]
//! The runtime of [staticnn](https://docs.rs/staticnn): tensors, backends
//! and their kernels, layers, losses, optimisers, data loading, training and
//! safetensors I/O.
//!
//! Users depend on the `staticnn` crate, which re-exports all of this next
//! to the `network!` macro; the code that macro generates calls into this
//! crate, and all kernels live here.

pub mod backend;
pub mod data;
mod error;
pub mod gradcheck;
#[cfg(feature = "image")]
pub mod images;
pub mod init;
pub mod io;
pub mod layers;
pub mod loss;
pub mod markers;
mod matrix;
pub mod model;
pub mod ops;
pub mod optim;
mod param;
#[cfg(feature = "plot")]
pub mod plot;
mod predict;
mod rng;
pub mod serve;
pub mod shape;
mod tensor;
pub mod train;

pub use backend::{Cpu, Device};
#[cfg(feature = "cuda")]
pub use backend::{Cuda, CudaBuf};
pub use data::Dataset;
pub use error::{Error, Result};
pub use init::Init;
pub use layers::{Layer, TrainCtx};
pub use loss::{BinaryCrossEntropy, Loss, Mse, SoftmaxCrossEntropy};
pub use model::{Model, Summary, SummaryRow};
/// nalgebra, the version whose matrices and vectors tensors and
/// [`Predictor`] convert from and to.
pub use nalgebra;
pub use ops::Backend;
pub use optim::{AdaGrad, Adam, AdamW, Optimizer, RmsProp, Sgd};
pub use param::Param;
pub use predict::Predictor;
pub use rng::Rng;
pub use shape::{ClassIndex, Rank1, Rank2, Rank3, Shape};
pub use tensor::Tensor;
pub use train::{evaluate, fit, predict, predict_classes, EarlyStopping, FitConfig, History};
