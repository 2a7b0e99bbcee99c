//! 2-D convolution with PyTorch's `[out, in, kh, kw]` weight layout.

use super::dense::{init_weight_bias, visit_weight_bias, visit_weight_bias_mut, DenseGrads};
use super::{scratch, Buffers, GradVisitor, Layer, ParamVisitor, ParamVisitorMut, TrainCtx};
use crate::backend::Device;
use crate::init::Init;
use crate::ops::window::Geom2d;
use crate::ops::Backend;
use crate::param::Param;
use crate::rng::Rng;
use crate::shape::{Rank3, Shape};
use crate::tensor::Tensor;
use crate::Result;
use std::marker::PhantomData;

/// A convolution from images `I = Rank3<C, H, W>` to `O = Rank3<OC, OH, OW>`
/// with a `KH x KW` kernel. Stride and padding are values, checked against
/// the shapes when the layer is built (`network!` computes them so they
/// always agree).
#[derive(Debug)]
pub struct Conv2d<B: Device, I, O, const KH: usize, const KW: usize> {
    /// `[OC, C, KH, KW]`, as `torch.nn.Conv2d.weight`.
    pub weight: Param<B>,
    /// `[OC]`, absent for `Conv2d(.., bias = false)`.
    pub bias: Option<Param<B>>,
    stride: (usize, usize),
    padding: (usize, usize),
    _shapes: PhantomData<fn(I) -> O>,
}

/// Gradients of a [`Conv2d`]: weight and optional bias, as for Dense.
pub type Conv2dGrads<B> = DenseGrads<B>;

/// Conv2d's buffers: output, input gradient, the unfolded input (the whole
/// batch after a training pass, for backward; one group per thread after
/// inference), and backward scratch.
#[derive(Debug)]
pub struct Conv2dState<B: Device, I: Shape, O: Shape> {
    io: Buffers<B, I, O>,
    cols: Option<B::Buf>,
    /// Whether `cols` holds the whole unfolded batch.
    kept: bool,
    work: Option<B::Buf>,
}

impl<B: Device, I: Shape, O: Shape> Default for Conv2dState<B, I, O> {
    fn default() -> Self {
        Conv2dState {
            io: Buffers::default(),
            cols: None,
            kept: false,
            work: None,
        }
    }
}

impl<
        B: Device,
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const OH: usize,
        const OW: usize,
        const KH: usize,
        const KW: usize,
    > Conv2d<B, Rank3<C, H, W>, Rank3<OC, OH, OW>, KH, KW>
{
    const WEIGHT_DIMS: &'static [usize] = &[OC, C, KH, KW];
    const BIAS_DIMS: &'static [usize] = &[OC];

    fn geom(stride: (usize, usize), padding: (usize, usize), batch: usize) -> Geom2d {
        Geom2d {
            batch,
            in_c: C,
            in_h: H,
            in_w: W,
            out_c: OC,
            out_h: OH,
            out_w: OW,
            kernel: (KH, KW),
            stride,
            padding,
        }
    }

    /// Weights drawn by `init` (fan in `C * KH * KW`, fan out
    /// `OC * KH * KW`), zero bias when `bias` is true. Fails if stride and
    /// padding do not turn `H x W` into `OH x OW`.
    pub fn init(
        dev: &B,
        rng: &mut Rng,
        init: Init,
        bias: bool,
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Self> {
        Self::geom(stride, padding, 1).check("Conv2d")?;
        let (weight, bias) = init_weight_bias(
            dev,
            rng,
            init,
            (C * KH * KW, OC * KH * KW),
            (Self::WEIGHT_DIMS, Self::BIAS_DIMS),
            bias,
        )?;
        Ok(Conv2d {
            weight,
            bias,
            stride,
            padding,
            _shapes: PhantomData,
        })
    }

    /// A layer with the given values (`weight` row-major `[OC, C, KH, KW]`).
    pub fn from_values(
        dev: &B,
        weight: &[f32],
        bias: Option<&[f32]>,
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Self> {
        Self::geom(stride, padding, 1).check("Conv2d")?;
        Ok(Conv2d {
            weight: Param::from_slice(dev, Self::WEIGHT_DIMS, weight)?,
            bias: bias
                .map(|b| Param::from_slice(dev, Self::BIAS_DIMS, b))
                .transpose()?,
            stride,
            padding,
            _shapes: PhantomData,
        })
    }

    /// `(rows, cols)` the window moves by.
    pub fn stride(&self) -> (usize, usize) {
        self.stride
    }

    /// `(rows, cols)` of zeros added on each side.
    pub fn padding(&self) -> (usize, usize) {
        self.padding
    }
}

impl<
        B: Backend,
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const OH: usize,
        const OW: usize,
        const KH: usize,
        const KW: usize,
    > Conv2d<B, Rank3<C, H, W>, Rank3<OC, OH, OW>, KH, KW>
{
    /// The forward pass into `state`; `keep` keeps the unfolded batch for
    /// backward.
    fn forward_into<'s>(
        &self,
        x: &Tensor<B, Rank3<C, H, W>>,
        state: &'s mut Conv2dState<B, Rank3<C, H, W>, Rank3<OC, OH, OW>>,
        keep: bool,
    ) -> Result<&'s Tensor<B, Rank3<OC, OH, OW>>> {
        let dev = x.device();
        let g = Self::geom(self.stride, self.padding, x.batch());
        let cols = scratch(&mut state.cols, dev)?;
        let y = Tensor::reuse(&mut state.io.y, dev, x.batch())?;
        dev.conv2d_forward(
            &g,
            x.buf(),
            self.weight.buf(),
            self.bias.as_ref().map(Param::buf),
            y.buf_mut(),
            cols,
            keep,
        )?;
        state.kept = keep;
        state.io.output()
    }

    /// Backward into `grads`, and into the input gradient when `want_dx`.
    fn backward_into<'s>(
        &self,
        x: &Tensor<B, Rank3<C, H, W>>,
        dy: &Tensor<B, Rank3<OC, OH, OW>>,
        state: &'s mut Conv2dState<B, Rank3<C, H, W>, Rank3<OC, OH, OW>>,
        grads: &mut Conv2dGrads<B>,
        want_dx: bool,
    ) -> Result<Option<&'s Tensor<B, Rank3<C, H, W>>>> {
        if !state.kept {
            // The last pass was inference, which keeps no unfolded batch:
            // unfold it again (same output) before going back.
            self.forward_into(x, state, true)?;
        }
        let dev = x.device();
        let g = Self::geom(self.stride, self.padding, x.batch());
        let cols = state.cols.as_ref().ok_or_else(super::no_forward)?;
        let work = scratch(&mut state.work, dev)?;
        let dx = if want_dx {
            Some(Tensor::reuse(&mut state.io.dx, dev, x.batch())?)
        } else {
            None
        };
        dev.conv2d_backward(
            &g,
            x.buf(),
            cols,
            self.weight.buf(),
            dy.buf(),
            dx.map(Tensor::buf_mut),
            grads.weight.buf_mut(),
            grads.bias.as_mut().map(Param::buf_mut),
            work,
        )?;
        Ok(if want_dx { state.io.dx.as_ref() } else { None })
    }
}

impl<
        B: Backend,
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const OH: usize,
        const OW: usize,
        const KH: usize,
        const KW: usize,
    > Layer<B> for Conv2d<B, Rank3<C, H, W>, Rank3<OC, OH, OW>, KH, KW>
{
    type Input = Rank3<C, H, W>;
    type Output = Rank3<OC, OH, OW>;
    type State = Conv2dState<B, Rank3<C, H, W>, Rank3<OC, OH, OW>>;
    type Grads = Conv2dGrads<B>;

    fn infer<'s>(
        &self,
        x: &Tensor<B, Self::Input>,
        state: &'s mut Self::State,
    ) -> Result<&'s Tensor<B, Self::Output>> {
        self.forward_into(x, state, false)
    }

    fn forward_train<'s>(
        &mut self,
        x: &Tensor<B, Self::Input>,
        state: &'s mut Self::State,
        _ctx: &mut TrainCtx,
    ) -> Result<&'s Tensor<B, Self::Output>> {
        self.forward_into(x, state, true)
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, Self::Output>> {
        state.io.output()
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, Self::Input>,
        dy: &Tensor<B, Self::Output>,
        state: &'s mut Self::State,
        grads: &mut Conv2dGrads<B>,
    ) -> Result<&'s Tensor<B, Self::Input>> {
        self.backward_into(x, dy, state, grads, true)?
            .ok_or_else(super::no_forward)
    }

    fn backward_params(
        &self,
        x: &Tensor<B, Self::Input>,
        dy: &Tensor<B, Self::Output>,
        state: &mut Self::State,
        grads: &mut Conv2dGrads<B>,
    ) -> Result<()> {
        self.backward_into(x, dy, state, grads, false).map(drop)
    }

    fn num_params(&self) -> usize {
        OC * C * KH * KW + self.bias.as_ref().map_or(0, |_| OC)
    }

    fn zero_grads(&self, _dev: &B) -> Result<Conv2dGrads<B>> {
        DenseGrads::for_params(&self.weight, self.bias.as_ref())
    }

    fn visit_params(&self, prefix: &str, f: &mut ParamVisitor<'_, B>) -> Result<()> {
        visit_weight_bias(prefix, &self.weight, self.bias.as_ref(), f)
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut ParamVisitorMut<'_, B>) -> Result<()> {
        visit_weight_bias_mut(prefix, &mut self.weight, self.bias.as_mut(), f)
    }

    fn visit_grads(&mut self, grads: &Conv2dGrads<B>, f: &mut GradVisitor<'_, B>) -> Result<()> {
        grads.visit(&mut self.weight, self.bias.as_mut(), f)
    }
}
