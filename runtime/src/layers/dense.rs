//! Fully connected layer, `y = x W^T + b`, with PyTorch's `[out, in]`
//! weight layout.

use super::{Buffers, GradVisitor, Layer, ParamVisitor, ParamVisitorMut};
use crate::backend::Device;
use crate::init::Init;
use crate::ops::gemm::Product;
use crate::ops::Backend;
use crate::param::Param;
use crate::rng::Rng;
use crate::shape::Rank1;
use crate::tensor::Tensor;
use crate::Result;

/// A dense (fully connected) layer from `I` to `O` features.
#[derive(Debug)]
pub struct Dense<B: Device, const I: usize, const O: usize> {
    /// `[O, I]`, as `torch.nn.Linear.weight`.
    pub weight: Param<B>,
    /// `[O]`, absent for `Dense(n, bias = false)`.
    pub bias: Option<Param<B>>,
}

/// Gradients of a layer made of a weight and an optional bias ([`Dense`],
/// [`Conv2d`](super::Conv2d)), shaped like its parameters.
#[derive(Debug)]
pub struct DenseGrads<B: Device> {
    /// The weights, `[out, in]` as PyTorch's `Linear.weight`.
    pub weight: Param<B>,
    /// The bias, `[out]`, unless the layer was built with `bias = false`.
    pub bias: Option<Param<B>>,
}

impl<B: Device> DenseGrads<B> {
    pub(crate) fn for_params(weight: &Param<B>, bias: Option<&Param<B>>) -> Result<Self> {
        Ok(DenseGrads {
            weight: weight.zeros_like()?,
            bias: bias.map(Param::zeros_like).transpose()?,
        })
    }

    pub(crate) fn visit(
        &self,
        weight: &mut Param<B>,
        bias: Option<&mut Param<B>>,
        f: &mut GradVisitor<'_, B>,
    ) -> Result<()> {
        f(weight, &self.weight)?;
        if let (Some(b), Some(g)) = (bias, &self.bias) {
            f(b, g)?;
        }
        Ok(())
    }
}

/// A weight of shape `dims.0` drawn by `init` with the given fans, and a
/// zero bias of shape `dims.1` when `bias` is true.
pub(crate) fn init_weight_bias<B: Device>(
    dev: &B,
    rng: &mut Rng,
    init: Init,
    (fan_in, fan_out): (usize, usize),
    dims: (&'static [usize], &'static [usize]),
    bias: bool,
) -> Result<(Param<B>, Option<Param<B>>)> {
    let mut w = vec![0.0; dims.0.iter().product()];
    init.fill(rng, fan_in, fan_out, &mut w);
    let weight = Param::from_slice(dev, dims.0, &w)?;
    let bias = if bias {
        Some(Param::zeros(dev, dims.1)?)
    } else {
        None
    };
    Ok((weight, bias))
}

/// Visit `weight` and `bias` under PyTorch's names.
pub(crate) fn visit_weight_bias<B: Device>(
    prefix: &str,
    weight: &Param<B>,
    bias: Option<&Param<B>>,
    f: &mut ParamVisitor<'_, B>,
) -> Result<()> {
    f(&format!("{prefix}weight"), weight)?;
    if let Some(b) = bias {
        f(&format!("{prefix}bias"), b)?;
    }
    Ok(())
}

/// [`visit_weight_bias`], mutably.
pub(crate) fn visit_weight_bias_mut<B: Device>(
    prefix: &str,
    weight: &mut Param<B>,
    bias: Option<&mut Param<B>>,
    f: &mut ParamVisitorMut<'_, B>,
) -> Result<()> {
    f(&format!("{prefix}weight"), weight)?;
    if let Some(b) = bias {
        f(&format!("{prefix}bias"), b)?;
    }
    Ok(())
}

impl<B: Device, const I: usize, const O: usize> Dense<B, I, O> {
    const WEIGHT_DIMS: &'static [usize] = &[O, I];
    const BIAS_DIMS: &'static [usize] = &[O];

    /// Weights drawn by `init` from `rng`; zero bias when `bias` is true.
    pub fn init(dev: &B, rng: &mut Rng, init: Init, bias: bool) -> Result<Self> {
        let (weight, bias) = init_weight_bias(
            dev,
            rng,
            init,
            (I, O),
            (Self::WEIGHT_DIMS, Self::BIAS_DIMS),
            bias,
        )?;
        Ok(Dense { weight, bias })
    }

    /// A layer with the given values (`weight` row-major `[O, I]`).
    pub fn from_values(dev: &B, weight: &[f32], bias: Option<&[f32]>) -> Result<Self> {
        Ok(Dense {
            weight: Param::from_slice(dev, Self::WEIGHT_DIMS, weight)?,
            bias: bias
                .map(|b| Param::from_slice(dev, Self::BIAS_DIMS, b))
                .transpose()?,
        })
    }

    /// Copy another layer's values (same shape, so the types check it).
    pub fn copy_from(&mut self, other: &Dense<B, I, O>) -> Result<()> {
        self.weight.copy_from(&other.weight)?;
        if let (Some(b), Some(o)) = (&mut self.bias, &other.bias) {
            b.copy_from(o)?;
        }
        Ok(())
    }
}

// The kernels below take sizes at run time, so they are compiled once for
// every Dense shape in a program; the typed methods only forward to them.

fn dense_forward<B: Backend>(
    dev: &B,
    (batch, i, o): (usize, usize, usize),
    x: &B::Buf,
    weight: &B::Buf,
    bias: Option<&B::Buf>,
    y: &mut B::Buf,
) -> Result<()> {
    dev.gemm(Product::new(batch, o, i).b_transposed(), x, weight, y)?;
    if let Some(b) = bias {
        dev.add_bias(batch, o, b, y)?;
    }
    Ok(())
}

fn dense_backward_params<B: Backend>(
    dev: &B,
    (batch, i, o): (usize, usize, usize),
    x: &B::Buf,
    dy: &B::Buf,
    dw: &mut B::Buf,
    db: Option<&mut B::Buf>,
) -> Result<()> {
    // dW[o, i] = sum over the batch of dy[b, o] * x[b, i].
    dev.gemm(Product::new(o, i, batch).a_transposed(), dy, x, dw)?;
    if let Some(db) = db {
        dev.bias_grad(batch, o, dy, db)?;
    }
    Ok(())
}

impl<B: Backend, const I: usize, const O: usize> Layer<B> for Dense<B, I, O> {
    type Input = Rank1<I>;
    type Output = Rank1<O>;
    type State = Buffers<B, Rank1<I>, Rank1<O>>;
    type Grads = DenseGrads<B>;

    fn infer<'s>(
        &self,
        x: &Tensor<B, Rank1<I>>,
        state: &'s mut Self::State,
    ) -> Result<&'s Tensor<B, Rank1<O>>> {
        let y = Tensor::reuse(&mut state.y, x.device(), x.batch())?;
        dense_forward(
            x.device(),
            (x.batch(), I, O),
            x.buf(),
            self.weight.buf(),
            self.bias.as_ref().map(Param::buf),
            y.buf_mut(),
        )?;
        Ok(y)
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, Rank1<O>>> {
        state.output()
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, Rank1<I>>,
        dy: &Tensor<B, Rank1<O>>,
        state: &'s mut Self::State,
        grads: &mut DenseGrads<B>,
    ) -> Result<&'s Tensor<B, Rank1<I>>> {
        self.backward_params(x, dy, state, grads)?;
        let dx = Tensor::reuse(&mut state.dx, x.device(), x.batch())?;
        // dx[b, i] = sum over o of dy[b, o] * W[o, i].
        x.device().gemm(
            Product::new(x.batch(), I, O),
            dy.buf(),
            self.weight.buf(),
            dx.buf_mut(),
        )?;
        Ok(dx)
    }

    fn backward_params(
        &self,
        x: &Tensor<B, Rank1<I>>,
        dy: &Tensor<B, Rank1<O>>,
        _state: &mut Self::State,
        grads: &mut DenseGrads<B>,
    ) -> Result<()> {
        dense_backward_params(
            x.device(),
            (x.batch(), I, O),
            x.buf(),
            dy.buf(),
            grads.weight.buf_mut(),
            grads.bias.as_mut().map(Param::buf_mut),
        )
    }

    fn num_params(&self) -> usize {
        O * I + self.bias.as_ref().map_or(0, |_| O)
    }

    fn zero_grads(&self, _dev: &B) -> Result<DenseGrads<B>> {
        DenseGrads::for_params(&self.weight, self.bias.as_ref())
    }

    fn visit_params(&self, prefix: &str, f: &mut ParamVisitor<'_, B>) -> Result<()> {
        visit_weight_bias(prefix, &self.weight, self.bias.as_ref(), f)
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut ParamVisitorMut<'_, B>) -> Result<()> {
        visit_weight_bias_mut(prefix, &mut self.weight, self.bias.as_mut(), f)
    }

    fn visit_grads(&mut self, grads: &DenseGrads<B>, f: &mut GradVisitor<'_, B>) -> Result<()> {
        grads.visit(&mut self.weight, self.bias.as_mut(), f)
    }
}
