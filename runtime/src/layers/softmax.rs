//! Softmax over the features of each sample.
//!
//! For training a classifier, end the network with logits and use
//! [`SoftmaxCrossEntropy`](crate::loss::SoftmaxCrossEntropy), which fuses
//! the two stably; this layer is for networks that must output
//! probabilities.

use super::{no_forward, no_params, Buffers, Layer};
use crate::ops::Backend;
use crate::shape::Rank1;
use crate::tensor::Tensor;
use crate::Result;

/// Softmax over the `N` features of each sample.
#[derive(Debug, Clone, Copy, Default)]
pub struct Softmax<const N: usize>;

impl<const N: usize> Softmax<N> {
    /// The layer (it holds nothing).
    pub fn new() -> Self {
        Softmax
    }
}

impl<B: Backend, const N: usize> Layer<B> for Softmax<N> {
    type Input = Rank1<N>;
    type Output = Rank1<N>;
    type State = Buffers<B, Rank1<N>, Rank1<N>>;
    no_params!(B);

    fn infer<'s>(
        &self,
        x: &Tensor<B, Rank1<N>>,
        state: &'s mut Self::State,
    ) -> Result<&'s Tensor<B, Rank1<N>>> {
        let y = Tensor::reuse(&mut state.y, x.device(), x.batch())?;
        x.device()
            .softmax_forward(x.batch(), N, x.buf(), y.buf_mut())?;
        Ok(y)
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, Rank1<N>>> {
        state.output()
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, Rank1<N>>,
        dy: &Tensor<B, Rank1<N>>,
        state: &'s mut Self::State,
        _grads: &mut (),
    ) -> Result<&'s Tensor<B, Rank1<N>>> {
        let y = state.y.as_ref().ok_or_else(no_forward)?;
        let dx = Tensor::reuse(&mut state.dx, x.device(), x.batch())?;
        x.device()
            .softmax_backward(x.batch(), N, y.buf(), dy.buf(), dx.buf_mut())?;
        Ok(dx)
    }
}
