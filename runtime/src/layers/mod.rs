//! Layers, and the [`Layer`] trait that every layer and every network
//! declared with `network!` implements.
//!
//! Training works in two passes. [`Layer::forward_train`] returns the output
//! and a cache of what the backward pass needs beyond the input and the
//! output (a dropout mask, say). [`Layer::backward`] then gets the input,
//! the output, the output's gradient and that cache, writes the parameter
//! gradients into a gradient struct and returns the input's gradient. The
//! caller keeps the activations, so nothing is copied between layers.

mod activation;
mod dense;
mod dropout;
mod flatten;
mod softmax;

pub use activation::{kind, Activate, Identity, LeakyRelu, Relu, Sigmoid, Step, Tanh};
pub use dense::{Dense, DenseGrads};
pub use dropout::{Dropout, DropoutCache};
pub use flatten::Flatten;
pub use softmax::Softmax;

use crate::backend::Backend;
use crate::param::Param;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Result;

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
    /// What the training forward keeps for the backward pass, beyond the
    /// input and output.
    type Cache: Send;
    /// Gradients of the parameters, shaped like the parameters.
    type Grads: Send;

    /// Inference: dropout off, no cache.
    fn forward(&self, x: &Tensor<B, Self::Input>) -> Result<Tensor<B, Self::Output>>;

    /// Training forward: returns the output and the cache for
    /// [`backward`](Layer::backward).
    #[allow(clippy::type_complexity)]
    fn forward_train(
        &self,
        x: &Tensor<B, Self::Input>,
        ctx: &mut TrainCtx,
    ) -> Result<(Tensor<B, Self::Output>, Self::Cache)>;

    /// Writes the parameter gradients into `grads` (overwriting, not
    /// accumulating) and returns the gradient with respect to `x`.
    fn backward(
        &self,
        x: &Tensor<B, Self::Input>,
        y: &Tensor<B, Self::Output>,
        dy: &Tensor<B, Self::Output>,
        cache: &Self::Cache,
        grads: &mut Self::Grads,
    ) -> Result<Tensor<B, Self::Input>>;

    /// Like [`backward`](Layer::backward) but without the input gradient,
    /// which the first layer of a network does not need (for a Dense layer
    /// on 784 inputs it is a third of the backward pass).
    fn backward_params(
        &self,
        x: &Tensor<B, Self::Input>,
        y: &Tensor<B, Self::Output>,
        dy: &Tensor<B, Self::Output>,
        cache: &Self::Cache,
        grads: &mut Self::Grads,
    ) -> Result<()> {
        self.backward(x, y, dy, cache, grads).map(drop)
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
