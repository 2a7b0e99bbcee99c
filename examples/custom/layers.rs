//! Two layers and a loss written outside the library, as a user would:
//! GELU (any shape, no parameters), LayerNorm (flat features, a learned
//! scale and shift, PyTorch's `nn.LayerNorm(n)`) and Huber's loss. The
//! layers compute on the host through `to_vec` and `from_vec`, so they run
//! on every backend; a fast one would call device kernels instead.

use staticnn::layers::{Build, GradVisitor, ParamVisitor, ParamVisitorMut};
use staticnn::loss::PointwiseLoss;
use staticnn::prelude::*;
use staticnn::{Param, Rng};
use std::marker::PhantomData;

/// The error for a backward pass (or `output`) before any forward pass.
fn no_forward(layer: &'static str) -> Error {
    Error::config(layer, "backward or output called before a forward pass")
}

/// What a host-side layer keeps between forward and backward: its output
/// and its input gradient.
pub struct HostState<B: Backend, S: Shape> {
    y: Option<Tensor<B, S>>,
    dx: Option<Tensor<B, S>>,
}

impl<B: Backend, S: Shape> Default for HostState<B, S> {
    fn default() -> Self {
        HostState { y: None, dx: None }
    }
}

/// GELU with the tanh approximation (PyTorch's `GELU(approximate="tanh")`).
#[derive(Debug, Default)]
pub struct Gelu<S>(PhantomData<S>);

/// `Custom(GeluLayer)` in a network: GELU for any input shape.
pub struct GeluLayer;

impl<B: Backend, S: Shape> Build<B, S> for GeluLayer {
    type Layer = Gelu<S>;
    const NUM_PARAMS: usize = 0;
    fn build(_: &B, _: &mut Rng) -> Result<Gelu<S>> {
        Ok(Gelu(PhantomData))
    }
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;

fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)).tanh())
}

fn gelu_derivative(x: f32) -> f32 {
    let u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
    let t = u.tanh();
    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x);
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du
}

impl<B: Backend, S: Shape> Layer<B> for Gelu<S> {
    type Input = S;
    type Output = S;
    type State = HostState<B, S>;
    type Grads = ();

    fn infer<'s>(&self, x: &Tensor<B, S>, state: &'s mut Self::State) -> Result<&'s Tensor<B, S>> {
        let y = x.to_vec()?.into_iter().map(gelu).collect();
        Ok(state.y.insert(Tensor::from_vec(x.device(), y)?))
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, S>> {
        state.y.as_ref().ok_or_else(|| no_forward("Gelu"))
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, S>,
        dy: &Tensor<B, S>,
        state: &'s mut Self::State,
        _: &mut (),
    ) -> Result<&'s Tensor<B, S>> {
        let dx = x
            .to_vec()?
            .into_iter()
            .zip(dy.to_vec()?)
            .map(|(x, d)| d * gelu_derivative(x))
            .collect();
        Ok(state.dx.insert(Tensor::from_vec(x.device(), dx)?))
    }

    fn num_params(&self) -> usize {
        0
    }
    fn zero_grads(&self, _: &B) -> Result<()> {
        Ok(())
    }
    fn visit_params(&self, _: &str, _: &mut ParamVisitor<'_, B>) -> Result<()> {
        Ok(())
    }
    fn visit_params_mut(&mut self, _: &str, _: &mut ParamVisitorMut<'_, B>) -> Result<()> {
        Ok(())
    }
    fn visit_grads(&mut self, _: &(), _: &mut GradVisitor<'_, B>) -> Result<()> {
        Ok(())
    }
}

/// Layer normalisation over the `N` features of each sample, with a
/// learned scale (`weight`, ones at first) and shift (`bias`, zeros), as
/// PyTorch's `nn.LayerNorm(N)`: its weights load from PyTorch by name.
pub struct LayerNorm<B: Backend, const N: usize> {
    pub weight: Param<B>,
    pub bias: Param<B>,
}

/// The gradients of a [`LayerNorm`]'s scale and shift.
pub struct LayerNormGrads<B: Backend> {
    weight: Param<B>,
    bias: Param<B>,
}

/// `Custom(LayerNormLayer)` in a network: LayerNorm on flat features only,
/// so that after an image layer it is a compile error.
pub struct LayerNormLayer;

impl<B: Backend, const N: usize> Build<B, Rank1<N>> for LayerNormLayer {
    type Layer = LayerNorm<B, N>;
    const NUM_PARAMS: usize = 2 * N;
    fn build(device: &B, _: &mut Rng) -> Result<LayerNorm<B, N>> {
        Ok(LayerNorm {
            weight: Param::from_slice(device, Rank1::<N>::DIMS, &[1.0; N])?,
            bias: Param::zeros(device, Rank1::<N>::DIMS)?,
        })
    }
}

const LN_EPS: f32 = 1e-5;

impl<B: Backend, const N: usize> LayerNorm<B, N> {
    /// Each sample's normalised values and the inverse of its deviation.
    fn normalise(x: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let mut xhat = Vec::with_capacity(x.len());
        let mut inv_std = Vec::with_capacity(x.len() / N);
        for row in x.chunks_exact(N) {
            let mean = row.iter().sum::<f32>() / N as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / N as f32;
            let inv = 1.0 / (var + LN_EPS).sqrt();
            xhat.extend(row.iter().map(|v| (v - mean) * inv));
            inv_std.push(inv);
        }
        (xhat, inv_std)
    }
}

impl<B: Backend, const N: usize> Layer<B> for LayerNorm<B, N> {
    type Input = Rank1<N>;
    type Output = Rank1<N>;
    type State = HostState<B, Rank1<N>>;
    type Grads = LayerNormGrads<B>;

    fn infer<'s>(
        &self,
        x: &Tensor<B, Rank1<N>>,
        state: &'s mut Self::State,
    ) -> Result<&'s Tensor<B, Rank1<N>>> {
        let (xhat, _) = Self::normalise(&x.to_vec()?);
        let (w, b) = (self.weight.to_vec()?, self.bias.to_vec()?);
        let y = xhat
            .iter()
            .enumerate()
            .map(|(i, v)| w[i % N] * v + b[i % N])
            .collect();
        Ok(state.y.insert(Tensor::from_vec(x.device(), y)?))
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, Rank1<N>>> {
        state.y.as_ref().ok_or_else(|| no_forward("LayerNorm"))
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, Rank1<N>>,
        dy: &Tensor<B, Rank1<N>>,
        state: &'s mut Self::State,
        grads: &mut LayerNormGrads<B>,
    ) -> Result<&'s Tensor<B, Rank1<N>>> {
        let (xhat, inv_std) = Self::normalise(&x.to_vec()?);
        let (dy, w) = (dy.to_vec()?, self.weight.to_vec()?);
        let (mut dw, mut db) = (vec![0.0; N], vec![0.0; N]);
        let mut dx = Vec::with_capacity(xhat.len());
        for ((xh, d), inv) in xhat.chunks_exact(N).zip(dy.chunks_exact(N)).zip(&inv_std) {
            let dxhat: Vec<f32> = (0..N).map(|j| d[j] * w[j]).collect();
            let mean_d = dxhat.iter().sum::<f32>() / N as f32;
            let mean_dx = dxhat.iter().zip(xh).map(|(a, b)| a * b).sum::<f32>() / N as f32;
            for j in 0..N {
                dw[j] += d[j] * xh[j];
                db[j] += d[j];
                dx.push(inv * (dxhat[j] - mean_d - xh[j] * mean_dx));
            }
        }
        grads.weight.set(&dw)?;
        grads.bias.set(&db)?;
        Ok(state.dx.insert(Tensor::from_vec(x.device(), dx)?))
    }

    fn num_params(&self) -> usize {
        2 * N
    }

    fn zero_grads(&self, dev: &B) -> Result<LayerNormGrads<B>> {
        Ok(LayerNormGrads {
            weight: Param::zeros(dev, Rank1::<N>::DIMS)?,
            bias: Param::zeros(dev, Rank1::<N>::DIMS)?,
        })
    }

    fn visit_params(&self, prefix: &str, f: &mut ParamVisitor<'_, B>) -> Result<()> {
        f(&format!("{prefix}weight"), &self.weight)?;
        f(&format!("{prefix}bias"), &self.bias)
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut ParamVisitorMut<'_, B>) -> Result<()> {
        f(&format!("{prefix}weight"), &mut self.weight)?;
        f(&format!("{prefix}bias"), &mut self.bias)
    }

    fn visit_grads(&mut self, grads: &LayerNormGrads<B>, f: &mut GradVisitor<'_, B>) -> Result<()> {
        f(&mut self.weight, &grads.weight)?;
        f(&mut self.bias, &grads.bias)
    }
}

/// Huber's loss with threshold `delta` (PyTorch's `HuberLoss(delta)`):
/// squared near the target, linear far from it, so that outliers pull
/// less than under the squared error.
#[derive(Debug, Clone, Copy)]
pub struct Huber {
    pub delta: f32,
}

impl PointwiseLoss for Huber {
    fn value(&self, pred: f32, target: f32) -> f32 {
        let d = (pred - target).abs();
        if d <= self.delta {
            0.5 * d * d
        } else {
            self.delta * (d - 0.5 * self.delta)
        }
    }

    fn derivative(&self, pred: f32, target: f32) -> f32 {
        (pred - target).clamp(-self.delta, self.delta)
    }
}
