//! Inverted dropout: active in training, the identity in inference.

use super::{no_params, Layer, TrainCtx};
use crate::backend::{Backend, Device};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{Error, Result};
use std::marker::PhantomData;

/// Zeroes each value with probability `p` during training and scales the
/// rest by `1 / (1 - p)`.
#[derive(Debug, Clone, Copy)]
pub struct Dropout<S> {
    p: f32,
    _shape: PhantomData<S>,
}

/// The mask drawn in the training forward (`0` or `1 / (1 - p)` per value).
#[derive(Debug)]
pub struct DropoutCache<B: Device> {
    mask: Option<B::Buf>,
}

impl<S> Dropout<S> {
    /// Dropout with probability `p` in `[0, 1)`. `network!` checks literal
    /// probabilities at compile time; this checks the rest.
    pub fn new(p: f32) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::config(
                "dropout probability",
                format!("{p} is not in [0, 1)"),
            ));
        }
        Ok(Dropout {
            p,
            _shape: PhantomData,
        })
    }

    pub fn p(&self) -> f32 {
        self.p
    }
}

impl<B: Backend, S: Shape> Layer<B> for Dropout<S> {
    type Input = S;
    type Output = S;
    type Cache = DropoutCache<B>;
    no_params!(B);

    fn forward(&self, x: &Tensor<B, S>) -> Result<Tensor<B, S>> {
        x.try_clone()
    }

    fn forward_train(
        &self,
        x: &Tensor<B, S>,
        ctx: &mut TrainCtx,
    ) -> Result<(Tensor<B, S>, DropoutCache<B>)> {
        if self.p == 0.0 {
            return Ok((x.try_clone()?, DropoutCache { mask: None }));
        }
        let dev = x.device();
        let mut y = x.zeros_like_batch()?;
        let mut mask = dev.zeros(x.len())?;
        dev.dropout_forward(self.p, ctx.next_seed(), x.buf(), y.buf_mut(), &mut mask)?;
        Ok((y, DropoutCache { mask: Some(mask) }))
    }

    fn backward(
        &self,
        _x: &Tensor<B, S>,
        _y: &Tensor<B, S>,
        dy: &Tensor<B, S>,
        cache: &DropoutCache<B>,
        _grads: &mut (),
    ) -> Result<Tensor<B, S>> {
        match &cache.mask {
            None => dy.try_clone(),
            Some(mask) => {
                let mut dx = dy.zeros_like_batch()?;
                dy.device().dropout_backward(mask, dy.buf(), dx.buf_mut())?;
                Ok(dx)
            }
        }
    }
}
