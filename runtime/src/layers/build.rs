//! Layers of your own inside `network!`: `gelu: Custom(Gelu)` places the
//! layer that `Gelu`'s [`Build`] gives for the input shape at that point,
//! inside a [`Placed`].

use super::{GradVisitor, Layer, ParamVisitor, ParamVisitorMut, TrainCtx};
use crate::ops::Backend;
use crate::rng::Rng;
use crate::shape::{GivesDeclared, KeepsShape, Shape};
use crate::tensor::Tensor;
use crate::{Error, Result};
use std::any::Any;
use std::fmt;
use std::marker::PhantomData;

/// How `network!` makes a layer of your own for the place it is written,
/// `Custom(Gelu)` in a list of layers (`Custom(Pool) -> [16]` for one
/// that changes the shape). `I` is the shape the layer before gives; an
/// implementation for every shape the layer accepts (`impl<B: Backend,
/// S: Shape> Build<B, S> for Gelu`, or only `Rank1<N>` for a layer on flat
/// features) lets the macro place it there, and anywhere else is one
/// compile error at `Custom`.
///
/// The layer's parameters are then saved, loaded, optimised and counted
/// with the network's, under the name of its place (`norm.weight`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take inputs of shape `{I}` here",
    label = "placed where its input is `{I}`",
    note = "`network!` builds a layer of your own through `staticnn::layers::Build<B, Input>`; implement it for `{Self}` with this input shape"
)]
pub trait Build<B: Backend, I: Shape> {
    /// The layer, taking inputs of shape `I`.
    type Layer: Layer<B, Input = I> + 'static;

    /// Number of learnable values of the layer, for the network's
    /// `NUM_PARAMS`.
    const NUM_PARAMS: usize;

    /// A new layer on `device`, drawing initial weights from `rng` (the
    /// network's seeded generator).
    fn build(device: &B, rng: &mut Rng) -> Result<Self::Layer>;
}

/// A layer of your own in a network: what `Custom(T)` becomes, with input
/// shape `I` and output shape `O`. It holds the layer `T`'s [`Build`]
/// made, behind a trait object, so that the network's types do not depend
/// on `T`'s `Build` (a missing one is then one error, where the layer is
/// made); reach the layer itself with [`get`](Placed::get).
pub struct Placed<B: Backend, T, I: Shape, O: Shape> {
    layer: Box<dyn Erased<B, I, O>>,
    _builder: PhantomData<fn() -> T>,
}

impl<B: Backend, T, I: Shape, O: Shape> Placed<B, T, I, O> {
    /// How to make `T`'s layer for a place where the network declares the
    /// output shape `O` (`Custom(T) -> [..]`, which must be the layer's
    /// own), and its parameter count. One function for both, so that a
    /// `T` that cannot go there is one error.
    #[doc(hidden)]
    pub const fn declared() -> Making<B, T, I, O>
    where
        T: Build<B, I>,
        <T::Layer as Layer<B>>::Output: GivesDeclared<O>,
        <T::Layer as Layer<B>>::State: 'static,
        <T::Layer as Layer<B>>::Grads: 'static,
    {
        Self::making()
    }

    /// Like [`declared`](Placed::declared), for a place with no declared
    /// output shape (`Custom(T)`): the layer must keep its input's shape.
    #[doc(hidden)]
    pub const fn same() -> Making<B, T, I, O>
    where
        T: Build<B, I>,
        <T::Layer as Layer<B>>::Output: KeepsShape<I>,
        <T::Layer as Layer<B>>::State: 'static,
        <T::Layer as Layer<B>>::Grads: 'static,
    {
        Self::making()
    }

    const fn making() -> Making<B, T, I, O>
    where
        T: Build<B, I>,
        <T::Layer as Layer<B>>::State: 'static,
        <T::Layer as Layer<B>>::Grads: 'static,
    {
        Making {
            num_params: T::NUM_PARAMS,
            make: |device, rng| Self::build::<T::Layer>(T::build(device, rng)?),
        }
    }

    fn build<L>(layer: L) -> Result<Self>
    where
        L: Layer<B, Input = I> + 'static,
        L::State: 'static,
        L::Grads: 'static,
    {
        Ok(Placed {
            layer: Box::new(Holder(layer)),
            _builder: PhantomData,
        })
    }

    /// The layer, if it is an `L`.
    pub fn get<L: 'static>(&self) -> Option<&L> {
        self.layer.as_any().downcast_ref()
    }

    /// The layer, mutably, if it is an `L`.
    pub fn get_mut<L: 'static>(&mut self) -> Option<&mut L> {
        self.layer.as_any_mut().downcast_mut()
    }
}

/// What `network!` needs to place a layer of your own: its parameter
/// count and how to make it.
#[doc(hidden)]
pub struct Making<B: Backend, T, I: Shape, O: Shape> {
    /// The layer's [`Build::NUM_PARAMS`].
    pub num_params: usize,
    /// Makes the layer on a device, from the network's generator.
    pub make: MakeFn<B, T, I, O>,
}

/// How [`Making`] makes a placed layer.
#[doc(hidden)]
pub type MakeFn<B, T, I, O> = fn(&B, &mut Rng) -> Result<Placed<B, T, I, O>>;

impl<B: Backend, T, I: Shape, O: Shape> fmt::Debug for Placed<B, T, I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Placed<{}>", std::any::type_name::<T>())
    }
}

/// The state of a [`Placed`] layer: its layer's own, made on first use.
pub struct PlacedState<B: Backend, O: Shape> {
    inner: Option<Box<dyn ErasedState<B, O>>>,
}

impl<B: Backend, O: Shape> Default for PlacedState<B, O> {
    fn default() -> Self {
        PlacedState { inner: None }
    }
}

/// The gradients of a [`Placed`] layer's parameters, as its layer's own.
pub struct PlacedGrads(Box<dyn Any + Send>);

/// What `Placed` needs of a layer, without its type.
trait Erased<B: Backend, I: Shape, O: Shape>: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn infer<'s>(
        &self,
        x: &Tensor<B, I>,
        state: &'s mut PlacedState<B, O>,
    ) -> Result<&'s Tensor<B, O>>;
    fn forward_train<'s>(
        &mut self,
        x: &Tensor<B, I>,
        state: &'s mut PlacedState<B, O>,
        ctx: &mut TrainCtx,
    ) -> Result<&'s Tensor<B, O>>;
    fn backward<'s>(
        &self,
        x: &Tensor<B, I>,
        dy: &Tensor<B, O>,
        state: &'s mut PlacedState<B, O>,
        grads: &mut PlacedGrads,
        params_only: bool,
    ) -> Result<Option<&'s Tensor<B, I>>>;
    fn num_params(&self) -> usize;
    fn zero_grads(&self, dev: &B) -> Result<PlacedGrads>;
    fn visit_params(&self, prefix: &str, f: &mut ParamVisitor<'_, B>) -> Result<()>;
    fn visit_params_mut(&mut self, prefix: &str, f: &mut ParamVisitorMut<'_, B>) -> Result<()>;
    fn visit_grads(&mut self, grads: &PlacedGrads, f: &mut GradVisitor<'_, B>) -> Result<()>;
}

/// The state of a layer, without its type: its output, seen as `O`.
trait ErasedState<B: Backend, O: Shape>: Send {
    fn output(&self) -> Result<&Tensor<B, O>>;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

struct StateOf<B: Backend, L: Layer<B>>(L::State);

impl<B: Backend, L: Layer<B> + 'static, O: Shape> ErasedState<B, O> for StateOf<B, L>
where
    L::State: 'static,
{
    fn output(&self) -> Result<&Tensor<B, O>> {
        L::output(&self.0)?.as_shape()
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

struct Holder<L>(L);

/// The layer's own state inside `state`, made on first use.
fn state_of<B: Backend, L: Layer<B> + 'static, O: Shape>(
    state: &mut PlacedState<B, O>,
) -> Result<&mut L::State>
where
    L::State: 'static,
{
    let inner = state
        .inner
        .get_or_insert_with(|| Box::new(StateOf::<B, L>(L::State::default())));
    inner
        .as_any_mut()
        .downcast_mut::<StateOf<B, L>>()
        .map(|s| &mut s.0)
        .ok_or_else(mixed_up)
}

fn grads_of<B: Backend, L: Layer<B> + 'static>(grads: &PlacedGrads) -> Result<&L::Grads> {
    grads.0.downcast_ref().ok_or_else(mixed_up)
}

/// A state or gradients of another layer handed to this one: a caller's
/// mistake that the types of `Placed` cannot rule out.
fn mixed_up() -> Error {
    Error::config(
        "custom layer",
        "was given the state or gradients of a different layer",
    )
}

impl<B, L, I, O> Erased<B, I, O> for Holder<L>
where
    B: Backend,
    L: Layer<B, Input = I> + 'static,
    L::State: 'static,
    L::Grads: 'static,
    I: Shape,
    O: Shape,
{
    fn as_any(&self) -> &dyn Any {
        &self.0
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        &mut self.0
    }
    fn infer<'s>(
        &self,
        x: &Tensor<B, I>,
        state: &'s mut PlacedState<B, O>,
    ) -> Result<&'s Tensor<B, O>> {
        self.0.infer(x, state_of::<B, L, O>(state)?)?.as_shape()
    }
    fn forward_train<'s>(
        &mut self,
        x: &Tensor<B, I>,
        state: &'s mut PlacedState<B, O>,
        ctx: &mut TrainCtx,
    ) -> Result<&'s Tensor<B, O>> {
        self.0
            .forward_train(x, state_of::<B, L, O>(state)?, ctx)?
            .as_shape()
    }
    fn backward<'s>(
        &self,
        x: &Tensor<B, I>,
        dy: &Tensor<B, O>,
        state: &'s mut PlacedState<B, O>,
        grads: &mut PlacedGrads,
        params_only: bool,
    ) -> Result<Option<&'s Tensor<B, I>>> {
        let grads = grads.0.downcast_mut::<L::Grads>().ok_or_else(mixed_up)?;
        let (state, dy) = (state_of::<B, L, O>(state)?, dy.as_shape()?);
        if params_only {
            self.0.backward_params(x, dy, state, grads)?;
            return Ok(None);
        }
        self.0.backward(x, dy, state, grads).map(Some)
    }
    fn num_params(&self) -> usize {
        self.0.num_params()
    }
    fn zero_grads(&self, dev: &B) -> Result<PlacedGrads> {
        Ok(PlacedGrads(Box::new(self.0.zero_grads(dev)?)))
    }
    fn visit_params(&self, prefix: &str, f: &mut ParamVisitor<'_, B>) -> Result<()> {
        self.0.visit_params(prefix, f)
    }
    fn visit_params_mut(&mut self, prefix: &str, f: &mut ParamVisitorMut<'_, B>) -> Result<()> {
        self.0.visit_params_mut(prefix, f)
    }
    fn visit_grads(&mut self, grads: &PlacedGrads, f: &mut GradVisitor<'_, B>) -> Result<()> {
        self.0.visit_grads(grads_of::<B, L>(grads)?, f)
    }
}

impl<B: Backend, T: 'static, I: Shape, O: Shape> Layer<B> for Placed<B, T, I, O> {
    type Input = I;
    type Output = O;
    type State = PlacedState<B, O>;
    type Grads = PlacedGrads;

    fn infer<'s>(&self, x: &Tensor<B, I>, state: &'s mut Self::State) -> Result<&'s Tensor<B, O>> {
        self.layer.infer(x, state)
    }

    fn forward_train<'s>(
        &mut self,
        x: &Tensor<B, I>,
        state: &'s mut Self::State,
        ctx: &mut TrainCtx,
    ) -> Result<&'s Tensor<B, O>> {
        self.layer.forward_train(x, state, ctx)
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, O>> {
        match &state.inner {
            Some(inner) => inner.output(),
            None => Err(super::no_forward()),
        }
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, I>,
        dy: &Tensor<B, O>,
        state: &'s mut Self::State,
        grads: &mut PlacedGrads,
    ) -> Result<&'s Tensor<B, I>> {
        self.layer
            .backward(x, dy, state, grads, false)?
            .ok_or_else(super::no_forward)
    }

    fn backward_params(
        &self,
        x: &Tensor<B, I>,
        dy: &Tensor<B, O>,
        state: &mut Self::State,
        grads: &mut PlacedGrads,
    ) -> Result<()> {
        self.layer.backward(x, dy, state, grads, true).map(drop)
    }

    fn num_params(&self) -> usize {
        self.layer.num_params()
    }

    fn zero_grads(&self, dev: &B) -> Result<PlacedGrads> {
        self.layer.zero_grads(dev)
    }

    fn visit_params(&self, prefix: &str, f: &mut ParamVisitor<'_, B>) -> Result<()> {
        self.layer.visit_params(prefix, f)
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut ParamVisitorMut<'_, B>) -> Result<()> {
        self.layer.visit_params_mut(prefix, f)
    }

    fn visit_grads(&mut self, grads: &PlacedGrads, f: &mut GradVisitor<'_, B>) -> Result<()> {
        self.layer.visit_grads(grads, f)
    }
}
