#![warn(missing_docs)]
//! # staticnn
//!
//! Neural networks declared in Rust source, with every shape checked by the
//! compiler.
//!
//! ```
//! use staticnn::prelude::*;
//!
//! network! {
//!     /// A two-layer perceptron for MNIST digits.
//!     pub struct Mlp: [784] {
//!         fc1: Dense(128), Relu,
//!         fc2: Dense(10),
//!     }
//! }
//!
//! let net = Mlp::init(&Cpu, 42)?;
//! let x = Tensor::<Cpu, Rank1<784>>::zeros(&Cpu, 2)?;
//! let logits = net.forward(&x)?;
//! assert_eq!(logits.batch(), 2);
//! assert_eq!(Mlp::<Cpu>::NUM_PARAMS, 784 * 128 + 128 + 128 * 10 + 10);
//! # Ok::<(), staticnn::Error>(())
//! ```
//!
//! ## Training
//!
//! ```
//! use staticnn::prelude::*;
//!
//! network! {
//!     struct Xor: [2] { Dense(8), Tanh, Dense(1), Sigmoid }
//! }
//!
//! let data = Dataset::<Rank1<2>, Rank1<1>>::new(
//!     vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0],
//!     vec![0.0, 1.0, 1.0, 0.0],
//! )?;
//! let mut net = Xor::init(&Cpu, 0)?;
//! let mut opt = Adam::new(0.05);
//! let cfg = FitConfig::new(400, 4).verbose(false);
//! let history = fit(&mut net, &mut opt, &BinaryCrossEntropy, &data, None, &cfg)?;
//! assert_eq!(history.last().unwrap().train_accuracy, Some(1.0));
//! # Ok::<(), staticnn::Error>(())
//! ```
//!
//! ## Weights
//!
//! Saved as safetensors with PyTorch's names (`0.weight` for the first,
//! unnamed layer; `out.bias` for a layer named `out`) and layouts:
//!
//! ```
//! use staticnn::prelude::*;
//!
//! network! {
//!     struct Net: [4] { Dense(3), Relu, out: Dense(2) }
//! }
//!
//! let path = std::env::temp_dir().join(format!("staticnn-doc-{}.safetensors", std::process::id()));
//! let a = Net::init(&Cpu, 1)?;
//! a.save(&path)?;
//! let mut b = Net::init(&Cpu, 2)?;
//! b.load(&path)?;
//! assert_eq!(a.out.weight.to_vec()?, b.out.weight.to_vec()?);
//! # std::fs::remove_file(&path).ok();
//! # Ok::<(), staticnn::Error>(())
//! ```
//!
//! [`network!`] documents the DSL: every layer, argument, default, shape
//! rule, naming rule and error class. The README covers training, data,
//! weights, the GPU and serving.

#[doc = include_str!("dsl.md")]
pub use staticnn_macros::network;
pub use staticnn_runtime::*;

/// The names most programs need: `use staticnn::prelude::*;`.
pub mod prelude {
    pub use crate::data::{csv, mnist, Standardizer};
    pub use crate::markers::TrainsWith;
    pub use crate::network;
    pub use crate::optim::{Constant, CosineAnnealing, ExponentialLr, LrSchedule, StepLr};
    #[cfg(feature = "cuda")]
    pub use crate::Cuda;
    pub use crate::{
        evaluate, fit, predict, predict_classes, AdaGrad, Adam, AdamW, Backend, BinaryCrossEntropy,
        ClassIndex, Cpu, Dataset, Device, EarlyStopping, Error, FitConfig, History, Init, Layer,
        Loss, Model, Mse, Optimizer, Predictor, Rank1, Rank2, Rank3, Result, RmsProp, Sgd, Shape,
        SoftmaxCrossEntropy, Tensor, TrainCtx,
    };
}

/// The README's code blocks, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
