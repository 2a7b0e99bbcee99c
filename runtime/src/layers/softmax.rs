//! Softmax over the features of each sample.
//!
//! For training a classifier, end the network with logits and use
//! [`SoftmaxCrossEntropy`](crate::loss::SoftmaxCrossEntropy), which fuses
//! the two stably; this layer is for networks that must output
//! probabilities.

use super::{no_params, Layer, TrainCtx};
use crate::backend::Backend;
use crate::shape::Rank1;
use crate::tensor::Tensor;
use crate::Result;

/// Softmax over the `N` features of each sample.
#[derive(Debug, Clone, Copy, Default)]
pub struct Softmax<const N: usize>;

impl<const N: usize> Softmax<N> {
    pub fn new() -> Self {
        Softmax
    }
}

impl<B: Backend, const N: usize> Layer<B> for Softmax<N> {
    type Input = Rank1<N>;
    type Output = Rank1<N>;
    type Cache = ();
    no_params!(B);

    fn forward(&self, x: &Tensor<B, Rank1<N>>) -> Result<Tensor<B, Rank1<N>>> {
        let mut y = x.zeros_like_batch()?;
        x.device()
            .softmax_forward(x.batch(), N, x.buf(), y.buf_mut())?;
        Ok(y)
    }

    fn forward_train(
        &self,
        x: &Tensor<B, Rank1<N>>,
        _ctx: &mut TrainCtx,
    ) -> Result<(Tensor<B, Rank1<N>>, ())> {
        Ok((self.forward(x)?, ()))
    }

    fn backward(
        &self,
        x: &Tensor<B, Rank1<N>>,
        y: &Tensor<B, Rank1<N>>,
        dy: &Tensor<B, Rank1<N>>,
        _cache: &(),
        _grads: &mut (),
    ) -> Result<Tensor<B, Rank1<N>>> {
        let mut dx = x.zeros_like_batch()?;
        x.device()
            .softmax_backward(x.batch(), N, y.buf(), dy.buf(), dx.buf_mut())?;
        Ok(dx)
    }
}
