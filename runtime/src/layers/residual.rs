//! Residual blocks: `y = body(x) + shortcut(x)`, as in ResNet.

use super::{Buffers, GradVisitor, Layer, ParamVisitor, ParamVisitorMut, TrainCtx};
use crate::ops::Backend;
use crate::tensor::Tensor;
use crate::Result;

/// A residual block: the body's output plus the shortcut's. The shortcut
/// is the identity ([`Identity`](super::Identity)) when the body keeps the
/// shape, or a projection (say a strided 1x1 Conv2d and a BatchNorm) when
/// it changes it; either way the types make both paths agree.
///
/// Parameter names follow torchvision's `BasicBlock`: the body's layers
/// directly under the block's prefix (`layer1.conv1.weight`) and the
/// shortcut under its own name (`layer1.downsample.0.weight`).
#[derive(Debug)]
pub struct Residual<Body, Shortcut> {
    /// The layers whose output is added to the shortcut's.
    pub body: Body,
    /// The shortcut: `Identity`, or a projection to the body's shape.
    pub shortcut: Shortcut,
    shortcut_name: &'static str,
}

impl<Body, Shortcut> Residual<Body, Shortcut> {
    /// A block whose shortcut's parameters are named
    /// `{shortcut_name}.{name}`.
    pub fn new(body: Body, shortcut: Shortcut, shortcut_name: &'static str) -> Self {
        Residual {
            body,
            shortcut,
            shortcut_name,
        }
    }

    /// The weight-name prefix of the shortcut (`shortcut`, or the user's name such as `downsample`).
    pub fn shortcut_name(&self) -> &'static str {
        self.shortcut_name
    }
}

/// Buffers of a [`Residual`]: each path's, and the block's own output and
/// input gradient (the sums).
pub struct ResidualState<B: Backend, Body: Layer<B>, Shortcut: Layer<B>> {
    /// The body's state.
    pub body: Body::State,
    /// The shortcut's state.
    pub shortcut: Shortcut::State,
    io: Buffers<B, Body::Input, Body::Output>,
}

impl<B: Backend, Body: Layer<B>, Shortcut: Layer<B>> Default for ResidualState<B, Body, Shortcut> {
    fn default() -> Self {
        ResidualState {
            body: Default::default(),
            shortcut: Default::default(),
            io: Buffers::default(),
        }
    }
}

/// Gradients of a [`Residual`]'s two paths.
pub struct ResidualGrads<BodyGrads, ShortcutGrads> {
    /// The body's gradients.
    pub body: BodyGrads,
    /// The shortcut's gradients.
    pub shortcut: ShortcutGrads,
}

impl<B, Body, Shortcut> Layer<B> for Residual<Body, Shortcut>
where
    B: Backend,
    Body: Layer<B>,
    Shortcut: Layer<B, Input = Body::Input, Output = Body::Output>,
{
    type Input = Body::Input;
    type Output = Body::Output;
    type State = ResidualState<B, Body, Shortcut>;
    type Grads = ResidualGrads<Body::Grads, Shortcut::Grads>;

    fn infer<'s>(
        &self,
        x: &Tensor<B, Self::Input>,
        state: &'s mut Self::State,
    ) -> Result<&'s Tensor<B, Self::Output>> {
        let a = self.body.infer(x, &mut state.body)?;
        let b = self.shortcut.infer(x, &mut state.shortcut)?;
        let y = Tensor::reuse(&mut state.io.y, x.device(), x.batch())?;
        x.device().add(a.buf(), b.buf(), y.buf_mut())?;
        Ok(y)
    }

    fn forward_train<'s>(
        &mut self,
        x: &Tensor<B, Self::Input>,
        state: &'s mut Self::State,
        ctx: &mut TrainCtx,
    ) -> Result<&'s Tensor<B, Self::Output>> {
        let a = self.body.forward_train(x, &mut state.body, ctx)?;
        let b = self.shortcut.forward_train(x, &mut state.shortcut, ctx)?;
        let y = Tensor::reuse(&mut state.io.y, x.device(), x.batch())?;
        x.device().add(a.buf(), b.buf(), y.buf_mut())?;
        Ok(y)
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, Self::Output>> {
        state.io.output()
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, Self::Input>,
        dy: &Tensor<B, Self::Output>,
        state: &'s mut Self::State,
        grads: &mut Self::Grads,
    ) -> Result<&'s Tensor<B, Self::Input>> {
        // The output's gradient flows unchanged into both paths, and the
        // input's gradient is the sum of theirs.
        let a = self
            .body
            .backward(x, dy, &mut state.body, &mut grads.body)?;
        let b = self
            .shortcut
            .backward(x, dy, &mut state.shortcut, &mut grads.shortcut)?;
        let dx = Tensor::reuse(&mut state.io.dx, x.device(), x.batch())?;
        x.device().add(a.buf(), b.buf(), dx.buf_mut())?;
        Ok(dx)
    }

    fn backward_params(
        &self,
        x: &Tensor<B, Self::Input>,
        dy: &Tensor<B, Self::Output>,
        state: &mut Self::State,
        grads: &mut Self::Grads,
    ) -> Result<()> {
        self.body
            .backward_params(x, dy, &mut state.body, &mut grads.body)?;
        self.shortcut
            .backward_params(x, dy, &mut state.shortcut, &mut grads.shortcut)
    }

    fn num_params(&self) -> usize {
        self.body.num_params() + self.shortcut.num_params()
    }

    fn zero_grads(&self, dev: &B) -> Result<Self::Grads> {
        Ok(ResidualGrads {
            body: self.body.zero_grads(dev)?,
            shortcut: self.shortcut.zero_grads(dev)?,
        })
    }

    fn visit_params(&self, prefix: &str, f: &mut ParamVisitor<'_, B>) -> Result<()> {
        self.body.visit_params(prefix, f)?;
        self.shortcut
            .visit_params(&format!("{prefix}{}.", self.shortcut_name), f)
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut ParamVisitorMut<'_, B>) -> Result<()> {
        self.body.visit_params_mut(prefix, f)?;
        self.shortcut
            .visit_params_mut(&format!("{prefix}{}.", self.shortcut_name), f)
    }

    fn visit_grads(&mut self, grads: &Self::Grads, f: &mut GradVisitor<'_, B>) -> Result<()> {
        self.body.visit_grads(&grads.body, f)?;
        self.shortcut.visit_grads(&grads.shortcut, f)
    }
}
