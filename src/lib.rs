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
//! See the README for the DSL, the layers, training and weights.

pub use staticnn_macros::network;
pub use staticnn_runtime::*;

/// The names most programs need: `use staticnn::prelude::*;`.
pub mod prelude {
    pub use crate::data::{csv, mnist};
    pub use crate::network;
    pub use crate::optim::{Constant, CosineAnnealing, ExponentialLr, LrSchedule, StepLr};
    pub use crate::{
        evaluate, fit, AdaGrad, Adam, AdamW, Backend, BinaryCrossEntropy, ClassIndex, Cpu, Dataset,
        Device, EarlyStopping, Error, FitConfig, History, Init, Layer, Loss, Model, Mse, Optimizer,
        Rank1, Rank2, Rank3, Result, RmsProp, Sgd, Shape, SoftmaxCrossEntropy, Tensor,
    };
}

/// The README's code blocks, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
