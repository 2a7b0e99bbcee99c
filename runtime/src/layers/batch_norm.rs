//! Batch normalisation over features (after Dense, PyTorch's `BatchNorm1d`)
//! or over channels (after Conv2d, `BatchNorm2d`).

use super::{
    no_forward, scratch, Buffers, GradVisitor, Layer, ParamVisitor, ParamVisitorMut, TrainCtx,
};
use crate::backend::Device;
use crate::ops::batch_norm::{NormGeom, Running, Stats};
use crate::ops::Backend;
use crate::param::Param;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{Error, Result};
use std::marker::PhantomData;

/// Normalises each channel of samples shaped `S` by the batch's mean and
/// variance in training and by running estimates in inference, then
/// scales by `weight` and shifts by `bias`.
///
/// The channels are the features of a flat `S` and the first dimension
/// otherwise (`C` of `[C, H, W]`). Parameters and running statistics carry
/// PyTorch's names: `weight`, `bias`, `running_mean`, `running_var`.
#[derive(Debug)]
pub struct BatchNorm<B: Device, S> {
    /// Scale, `[channels]`, initially ones.
    pub weight: Param<B>,
    /// Shift, `[channels]`, initially zeros.
    pub bias: Param<B>,
    /// Running mean (a buffer: saved, not trained), initially zeros.
    pub running_mean: Param<B>,
    /// Running (unbiased) variance, a buffer, initially ones.
    pub running_var: Param<B>,
    momentum: f32,
    eps: f32,
    _shape: PhantomData<S>,
}

/// Gradients of a [`BatchNorm`]'s scale and shift.
#[derive(Debug)]
pub struct BatchNormGrads<B: Device> {
    /// The learned scale, one per channel (PyTorch's `weight`, gamma).
    pub weight: Param<B>,
    /// The learned shift, one per channel (PyTorch's `bias`, beta).
    pub bias: Param<B>,
}

/// BatchNorm's buffers: output, input gradient, and the batch mean and
/// inverse standard deviation of the last training pass.
#[derive(Debug)]
pub struct BatchNormState<B: Device, S: Shape> {
    io: Buffers<B, S, S>,
    mean: Option<B::Buf>,
    inv_std: Option<B::Buf>,
    /// Whether `mean`/`inv_std` come from a training pass (backward needs
    /// them).
    trained: bool,
}

impl<B: Device, S: Shape> Default for BatchNormState<B, S> {
    fn default() -> Self {
        BatchNormState {
            io: Buffers::default(),
            mean: None,
            inv_std: None,
            trained: false,
        }
    }
}

impl<B: Device, S: Shape> BatchNorm<B, S> {
    /// Channels: the features of a flat sample, else the first dimension.
    pub const CHANNELS: usize = if S::DIMS.len() == 1 {
        S::SIZE
    } else {
        S::DIMS[0]
    };
    const DIMS: &'static [usize] = &[Self::CHANNELS];

    /// A fresh layer (scale 1, shift 0, running mean 0, running variance
    /// 1). PyTorch's defaults are `momentum = 0.1`, `eps = 1e-5`.
    pub fn new(dev: &B, momentum: f32, eps: f32) -> Result<Self> {
        if !(0.0..=1.0).contains(&momentum) {
            return Err(Error::config(
                "BatchNorm momentum",
                format!("{momentum} is not in [0, 1]"),
            ));
        }
        if eps.is_nan() || eps <= 0.0 {
            return Err(Error::config(
                "BatchNorm eps",
                format!("{eps} must be positive"),
            ));
        }
        let ones = vec![1.0; Self::CHANNELS];
        Ok(BatchNorm {
            weight: Param::from_slice(dev, Self::DIMS, &ones)?,
            bias: Param::zeros(dev, Self::DIMS)?,
            running_mean: Param::zeros(dev, Self::DIMS)?.into_buffer(),
            running_var: Param::from_slice(dev, Self::DIMS, &ones)?
                .into_buffer()
                .non_negative(),
            momentum,
            eps,
            _shape: PhantomData,
        })
    }

    /// Weight of each new batch in the running statistics.
    pub fn momentum(&self) -> f32 {
        self.momentum
    }

    /// Added to the variance before its square root.
    pub fn eps(&self) -> f32 {
        self.eps
    }

    fn geom(batch: usize) -> NormGeom {
        NormGeom {
            batch,
            channels: Self::CHANNELS,
            spatial: S::SIZE / Self::CHANNELS,
        }
    }
}

impl<B: Backend, S: Shape> Layer<B> for BatchNorm<B, S> {
    type Input = S;
    type Output = S;
    type State = BatchNormState<B, S>;
    type Grads = BatchNormGrads<B>;

    fn infer<'s>(&self, x: &Tensor<B, S>, state: &'s mut Self::State) -> Result<&'s Tensor<B, S>> {
        let dev = x.device();
        state.trained = false;
        let y = Tensor::reuse(&mut state.io.y, dev, x.batch())?;
        dev.batch_norm_infer(
            &Self::geom(x.batch()),
            self.eps,
            x.buf(),
            self.weight.buf(),
            self.bias.buf(),
            self.running_mean.buf(),
            self.running_var.buf(),
            y.buf_mut(),
        )?;
        Ok(y)
    }

    fn forward_train<'s>(
        &mut self,
        x: &Tensor<B, S>,
        state: &'s mut Self::State,
        _ctx: &mut TrainCtx,
    ) -> Result<&'s Tensor<B, S>> {
        let dev = x.device();
        let mean = scratch(&mut state.mean, dev)?;
        let inv_std = scratch(&mut state.inv_std, dev)?;
        let y = Tensor::reuse(&mut state.io.y, dev, x.batch())?;
        dev.batch_norm_train(
            &Self::geom(x.batch()),
            self.eps,
            x.buf(),
            self.weight.buf(),
            self.bias.buf(),
            y.buf_mut(),
            mean,
            inv_std,
            Running {
                mean: self.running_mean.buf_mut(),
                var: self.running_var.buf_mut(),
                momentum: self.momentum,
            },
        )?;
        state.trained = true;
        state.io.y.as_ref().ok_or_else(no_forward)
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, S>> {
        state.io.output()
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, S>,
        dy: &Tensor<B, S>,
        state: &'s mut Self::State,
        grads: &mut BatchNormGrads<B>,
    ) -> Result<&'s Tensor<B, S>> {
        let dev = x.device();
        // After a training pass the batch statistics are in the state;
        // after inference the running ones were used, as constants (the
        // gradient of a network fine-tuned with BatchNorm frozen).
        let stats = match (&state.mean, &state.inv_std, state.trained) {
            (Some(mean), Some(inv_std), true) => Stats::Batch { mean, inv_std },
            _ => Stats::Running {
                mean: self.running_mean.buf(),
                var: self.running_var.buf(),
                eps: self.eps,
            },
        };
        let dx = Tensor::reuse(&mut state.io.dx, dev, x.batch())?;
        dev.batch_norm_backward(
            &Self::geom(x.batch()),
            x.buf(),
            self.weight.buf(),
            stats,
            dy.buf(),
            dx.buf_mut(),
            grads.weight.buf_mut(),
            grads.bias.buf_mut(),
        )?;
        Ok(dx)
    }

    fn num_params(&self) -> usize {
        2 * Self::CHANNELS
    }

    fn zero_grads(&self, _dev: &B) -> Result<BatchNormGrads<B>> {
        Ok(BatchNormGrads {
            weight: self.weight.zeros_like()?,
            bias: self.bias.zeros_like()?,
        })
    }

    fn visit_params(&self, prefix: &str, f: &mut ParamVisitor<'_, B>) -> Result<()> {
        f(&format!("{prefix}weight"), &self.weight)?;
        f(&format!("{prefix}bias"), &self.bias)?;
        f(&format!("{prefix}running_mean"), &self.running_mean)?;
        f(&format!("{prefix}running_var"), &self.running_var)
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut ParamVisitorMut<'_, B>) -> Result<()> {
        f(&format!("{prefix}weight"), &mut self.weight)?;
        f(&format!("{prefix}bias"), &mut self.bias)?;
        f(&format!("{prefix}running_mean"), &mut self.running_mean)?;
        f(&format!("{prefix}running_var"), &mut self.running_var)
    }

    fn visit_grads(&mut self, grads: &BatchNormGrads<B>, f: &mut GradVisitor<'_, B>) -> Result<()> {
        f(&mut self.weight, &grads.weight)?;
        f(&mut self.bias, &grads.bias)
    }
}
