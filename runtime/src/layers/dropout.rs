//! Inverted dropout: active in training, the identity in inference.

use super::{no_params, Buffers, Layer, TrainCtx};
use crate::backend::Device;
use crate::ops::Backend;
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

/// Dropout's buffers: output, input gradient, and the mask drawn in the
/// training forward (`0` or `1 / (1 - p)` per value; none in inference).
#[derive(Debug)]
pub struct DropoutState<B: Device, S: Shape> {
    io: Buffers<B, S, S>,
    mask: Option<B::Buf>,
}

impl<B: Device, S: Shape> Default for DropoutState<B, S> {
    fn default() -> Self {
        DropoutState {
            io: Buffers::default(),
            mask: None,
        }
    }
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

    /// The probability of zeroing each value in training.
    pub fn p(&self) -> f32 {
        self.p
    }
}

impl<B: Backend, S: Shape> Layer<B> for Dropout<S> {
    type Input = S;
    type Output = S;
    type State = DropoutState<B, S>;
    no_params!(B);

    fn infer<'s>(&self, x: &Tensor<B, S>, state: &'s mut Self::State) -> Result<&'s Tensor<B, S>> {
        state.mask = None;
        let y = Tensor::reuse(&mut state.io.y, x.device(), x.batch())?;
        x.device().copy(x.buf(), y.buf_mut())?;
        Ok(y)
    }

    fn forward_train<'s>(
        &mut self,
        x: &Tensor<B, S>,
        state: &'s mut Self::State,
        ctx: &mut TrainCtx,
    ) -> Result<&'s Tensor<B, S>> {
        if self.p == 0.0 {
            return self.infer(x, state);
        }
        let dev = x.device();
        let mask = match state.mask.take() {
            Some(mut m) => {
                dev.resize(&mut m, x.len())?;
                m
            }
            None => dev.zeros(x.len())?,
        };
        let mask = state.mask.insert(mask);
        let y = Tensor::reuse(&mut state.io.y, dev, x.batch())?;
        dev.dropout_forward(self.p, ctx.next_seed(), x.buf(), y.buf_mut(), mask)?;
        Ok(y)
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, S>> {
        state.io.output()
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, S>,
        dy: &Tensor<B, S>,
        state: &'s mut Self::State,
        _grads: &mut (),
    ) -> Result<&'s Tensor<B, S>> {
        let dev = x.device();
        let dx = Tensor::reuse(&mut state.io.dx, dev, x.batch())?;
        match &state.mask {
            // p = 0, or the last forward was inference: the identity.
            None => dev.copy(dy.buf(), dx.buf_mut())?,
            Some(mask) => dev.dropout_backward(mask, dy.buf(), dx.buf_mut())?,
        }
        Ok(dx)
    }
}
