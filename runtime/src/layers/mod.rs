//! Layers, and the [`Layer`] trait that every layer and every network
//! declared with `network!` implements.
//!
//! Each layer keeps the buffers it writes in a [`Layer::State`] that the
//! caller owns and passes back on every call: the layer's output, its input
//! gradient, and whatever the backward pass needs (a dropout mask, say).
//! Buffers are sized on the first call and reused after, so a training step
//! after warm-up allocates nothing, and layers hand each other references
//! into their states, so nothing is copied between layers.
//!
//! A training step is [`Layer::forward_train`] followed by
//! [`Layer::backward`] with the same state: backward gets the input again
//! (the caller holds it) and the output's gradient, writes the parameter
//! gradients into a gradient struct and returns the input's gradient.

mod activation;
mod batch_norm;
mod build;
mod conv;
mod dense;
mod dropout;
mod flatten;
mod pool;
mod residual;
mod softmax;

pub use activation::{kind, Activate, Identity, LeakyRelu, Relu, Sigmoid, Step, Tanh};
pub use batch_norm::{BatchNorm, BatchNormGrads, BatchNormState};
pub use build::{Build, Placed, PlacedGrads, PlacedState};
pub use conv::{Conv2d, Conv2dGrads, Conv2dState};
pub use dense::{Dense, DenseGrads};
pub use dropout::{Dropout, DropoutState};
pub use flatten::Flatten;
pub use pool::{AvgPool2d, GlobalAvgPool, MaxPool2d, MaxPoolState, PoolWindow};
pub use residual::{Residual, ResidualGrads, ResidualState};
pub use softmax::Softmax;

use crate::backend::Device;
use crate::ops::Backend;
use crate::param::Param;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Per-step state of a training forward pass: the source of dropout seeds.
#[derive(Debug, Clone)]
pub struct TrainCtx {
    rng: Rng,
}

impl TrainCtx {
    /// A context whose dropout masks are fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        TrainCtx {
            rng: Rng::new(seed),
        }
    }

    /// A fresh seed for one random op.
    pub fn next_seed(&mut self) -> u64 {
        self.rng.next_u64()
    }
}

/// Visits parameters by their PyTorch names.
pub type ParamVisitor<'a, B> = dyn FnMut(&str, &Param<B>) -> Result<()> + 'a;
/// Visits parameters mutably by their PyTorch names.
pub type ParamVisitorMut<'a, B> = dyn FnMut(&str, &mut Param<B>) -> Result<()> + 'a;
/// Visits each parameter together with its gradient, in a fixed order.
pub type GradVisitor<'a, B> = dyn FnMut(&mut Param<B>, &Param<B>) -> Result<()> + 'a;

/// The state of a layer whose backward pass needs only its input and its
/// output: the output and the input gradient, reused from call to call.
#[derive(Debug)]
pub struct Buffers<B: Device, I: Shape, O: Shape> {
    pub(crate) y: Option<Tensor<B, O>>,
    pub(crate) dx: Option<Tensor<B, I>>,
}

impl<B: Device, I: Shape, O: Shape> Default for Buffers<B, I, O> {
    fn default() -> Self {
        Buffers { y: None, dx: None }
    }
}

impl<B: Device, I: Shape, O: Shape> Buffers<B, I, O> {
    /// The output of the last forward pass.
    pub fn output(&self) -> Result<&Tensor<B, O>> {
        self.y.as_ref().ok_or_else(no_forward)
    }
}

/// A scratch buffer kept in a layer's state: created empty on first use,
/// then handed back with its memory so kernels can resize it without
/// allocating again.
pub(crate) fn scratch<'a, B: Device>(
    slot: &'a mut Option<B::Buf>,
    dev: &B,
) -> Result<&'a mut B::Buf> {
    match slot {
        Some(buf) => Ok(buf),
        None => Ok(slot.insert(dev.zeros(0)?)),
    }
}

/// The error for a backward pass (or `output`) before any forward pass.
pub(crate) fn no_forward() -> Error {
    Error::config("backward", "called before forward_train on this state")
}

/// A differentiable map from batches of `Input` to batches of `Output`.
///
/// Implemented by every runtime layer and by every network that `network!`
/// generates, so networks nest and generic code (training, optimisers,
/// save/load, gradient checking) works on any of them.
pub trait Layer<B: Backend>: Send + Sync {
    /// Shape of one input sample.
    type Input: Shape;
    /// Shape of one output sample.
    type Output: Shape;
    /// Buffers the layer reuses across calls: its output, its input
    /// gradient, and what backward needs. Start from `Default::default()`.
    type State: Default + Send;
    /// Gradients of the parameters, shaped like the parameters.
    type Grads: Send;

    /// Inference (dropout off) into `state`; returns the output.
    fn infer<'s>(
        &self,
        x: &Tensor<B, Self::Input>,
        state: &'s mut Self::State,
    ) -> Result<&'s Tensor<B, Self::Output>>;

    /// Training forward into `state`, keeping what
    /// [`backward`](Layer::backward) needs; returns the output. The default is
    /// [`infer`](Layer::infer), for layers that behave the same in training.
    ///
    /// It takes `&mut self` because a training pass may update state that
    /// is not learned by gradient: BatchNorm's running statistics move
    /// towards each batch's, as in PyTorch's `train()` mode.
    fn forward_train<'s>(
        &mut self,
        x: &Tensor<B, Self::Input>,
        state: &'s mut Self::State,
        ctx: &mut TrainCtx,
    ) -> Result<&'s Tensor<B, Self::Output>> {
        let _ = ctx;
        self.infer(x, state)
    }

    /// The output of the last forward pass on `state`.
    fn output(state: &Self::State) -> Result<&Tensor<B, Self::Output>>;

    /// Given the input `x` of the last
    /// [`forward_train`](Layer::forward_train) on `state` and the gradient `dy` of its
    /// output, writes the parameter gradients into `grads` (overwriting,
    /// not accumulating) and returns the gradient with respect to `x`.
    ///
    /// After [`infer`](Layer::infer) instead, the gradients are those of
    /// the network in inference mode: dropout passes gradients through,
    /// and BatchNorm is the affine map of its running statistics, which
    /// stay as they are. That is training with BatchNorm frozen, as
    /// PyTorch's BatchNorm layers in `eval()`;
    /// [`train::gradients`](crate::train::gradients) with `Mode::Eval`
    /// does it in one call.
    fn backward<'s>(
        &self,
        x: &Tensor<B, Self::Input>,
        dy: &Tensor<B, Self::Output>,
        state: &'s mut Self::State,
        grads: &mut Self::Grads,
    ) -> Result<&'s Tensor<B, Self::Input>>;

    /// Like [`backward`](Layer::backward) but without the input gradient,
    /// which the first layer of a network does not need (for a Dense layer
    /// on 784 inputs it is a third of the backward pass).
    fn backward_params(
        &self,
        x: &Tensor<B, Self::Input>,
        dy: &Tensor<B, Self::Output>,
        state: &mut Self::State,
        grads: &mut Self::Grads,
    ) -> Result<()> {
        self.backward(x, dy, state, grads).map(drop)
    }

    /// Inference into a fresh tensor. Convenient; for repeated calls
    /// without allocation, keep a state and use [`infer`](Layer::infer).
    fn forward(&self, x: &Tensor<B, Self::Input>) -> Result<Tensor<B, Self::Output>> {
        let mut state = Self::State::default();
        self.infer(x, &mut state)?.try_clone()
    }

    /// Number of learnable values.
    fn num_params(&self) -> usize;

    /// Zeroed gradients, allocated once and reused across steps.
    fn zero_grads(&self, dev: &B) -> Result<Self::Grads>;

    /// Calls `f` with each parameter's full name (`prefix` + own name).
    fn visit_params(&self, prefix: &str, f: &mut ParamVisitor<'_, B>) -> Result<()>;

    /// Calls `f` with each parameter's full name, mutably.
    fn visit_params_mut(&mut self, prefix: &str, f: &mut ParamVisitorMut<'_, B>) -> Result<()>;

    /// Calls `f` with each parameter and its gradient from `grads`, in the
    /// same order as [`visit_params`](Layer::visit_params).
    fn visit_grads(&mut self, grads: &Self::Grads, f: &mut GradVisitor<'_, B>) -> Result<()>;

    /// Overwrite this layer's parameters (and buffers such as running
    /// statistics) with `other`'s. Both are the same type, so their shapes
    /// agree by construction: moving a trained layer into another network
    /// is `big.encoder.fc1.copy_weights_from(&small.enc)?`, and a layer of
    /// the wrong shape does not compile.
    fn copy_weights_from(&mut self, other: &Self) -> Result<()>
    where
        Self: Sized,
    {
        // Same type, so the same parameters in the same order: copy them on
        // the device (through a clone, as the visitors lend one parameter
        // at a time), never through the host.
        let mut sources = Vec::new();
        other.visit_params("", &mut |_, p| {
            sources.push(p.try_clone()?);
            Ok(())
        })?;
        let mut sources = sources.into_iter();
        self.visit_params_mut("", &mut |name, p| match sources.next() {
            Some(src) => p.copy_from(&src),
            None => Err(Error::config(
                "copy_weights_from",
                format!("the source has no parameter for `{name}`"),
            )),
        })
    }
}

/// The parts of [`Layer`] that a layer without parameters fills in the same
/// way, for the runtime's own layers.
macro_rules! no_params {
    ($B:ty) => {
        type Grads = ();

        fn num_params(&self) -> usize {
            0
        }

        fn zero_grads(&self, _dev: &$B) -> $crate::Result<()> {
            Ok(())
        }

        fn visit_params(
            &self,
            _prefix: &str,
            _f: &mut $crate::layers::ParamVisitor<'_, $B>,
        ) -> $crate::Result<()> {
            Ok(())
        }

        fn visit_params_mut(
            &mut self,
            _prefix: &str,
            _f: &mut $crate::layers::ParamVisitorMut<'_, $B>,
        ) -> $crate::Result<()> {
            Ok(())
        }

        fn visit_grads(
            &mut self,
            _grads: &(),
            _f: &mut $crate::layers::GradVisitor<'_, $B>,
        ) -> $crate::Result<()> {
            Ok(())
        }
    };
}
pub(crate) use no_params;
