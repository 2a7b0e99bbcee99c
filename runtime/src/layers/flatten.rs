//! Flatten: reinterpret each sample as a flat vector.

use super::{no_params, Layer, TrainCtx};
use crate::backend::Backend;
use crate::shape::{Rank1, Shape};
use crate::tensor::Tensor;
use crate::Result;
use std::marker::PhantomData;

/// Turns samples of shape `S` into flat vectors of `N = S::SIZE` values
/// (row-major, as `torch.flatten(x, 1)`), so that Dense can follow a
/// convolution.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flatten<S, const N: usize> {
    _shape: PhantomData<S>,
}

impl<S, const N: usize> Flatten<S, N> {
    pub fn new() -> Self {
        Flatten {
            _shape: PhantomData,
        }
    }
}

impl<B: Backend, S: Shape, const N: usize> Layer<B> for Flatten<S, N> {
    type Input = S;
    type Output = Rank1<N>;
    type Cache = ();
    no_params!(B);

    fn forward(&self, x: &Tensor<B, S>) -> Result<Tensor<B, Rank1<N>>> {
        Ok(x.try_clone()?.reshape())
    }

    fn forward_train(
        &self,
        x: &Tensor<B, S>,
        _ctx: &mut TrainCtx,
    ) -> Result<(Tensor<B, Rank1<N>>, ())> {
        Ok((self.forward(x)?, ()))
    }

    fn backward(
        &self,
        _x: &Tensor<B, S>,
        _y: &Tensor<B, Rank1<N>>,
        dy: &Tensor<B, Rank1<N>>,
        _cache: &(),
        _grads: &mut (),
    ) -> Result<Tensor<B, S>> {
        Ok(dy.try_clone()?.reshape())
    }
}
