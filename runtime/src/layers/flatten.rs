//! Flatten: reinterpret each sample as a flat vector.

use super::{no_params, Buffers, Layer};
use crate::ops::Backend;
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
    /// The layer (it holds nothing).
    pub fn new() -> Self {
        Flatten {
            _shape: PhantomData,
        }
    }
}

impl<B: Backend, S: Shape, const N: usize> Layer<B> for Flatten<S, N> {
    type Input = S;
    type Output = Rank1<N>;
    type State = Buffers<B, S, Rank1<N>>;
    no_params!(B);

    // Each layer owns its output, so flattening is a copy; it is one pass
    // over memory, next to the product that follows it.
    fn infer<'s>(
        &self,
        x: &Tensor<B, S>,
        state: &'s mut Self::State,
    ) -> Result<&'s Tensor<B, Rank1<N>>> {
        const { assert!(S::SIZE == N, "Flatten's output size must equal its input's") };
        let y = Tensor::reuse(&mut state.y, x.device(), x.batch())?;
        x.device().copy(x.buf(), y.buf_mut())?;
        Ok(y)
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, Rank1<N>>> {
        state.output()
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, S>,
        dy: &Tensor<B, Rank1<N>>,
        state: &'s mut Self::State,
        _grads: &mut (),
    ) -> Result<&'s Tensor<B, S>> {
        let dx = Tensor::reuse(&mut state.dx, x.device(), x.batch())?;
        x.device().copy(dy.buf(), dx.buf_mut())?;
        Ok(dx)
    }
}
