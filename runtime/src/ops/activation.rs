//! Pointwise activations and their derivatives.

use super::vector::on_cpu_path;
use super::{PARALLEL_CHUNK as CHUNK, PARALLEL_ELEMENTWISE as PARALLEL_MIN};
use crate::backend::{cpu::check_len, Cpu, Device};
use crate::{Error, Result};
use rayon::prelude::*;

/// The pointwise activation functions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// Heaviside step, `x > 0 -> 1`, else 0. Not differentiable.
    Step,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x > 0`, `slope * x` otherwise.
    LeakyRelu(f32),
    /// `x` unchanged.
    Identity,
}

impl Activation {
    /// The function at `x`.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Step => (x > 0.0) as u8 as f32,
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu(s) => {
                if x > 0.0 {
                    x
                } else {
                    s * x
                }
            }
            Activation::Identity => x,
        }
    }

    /// The derivative, from the input `x` and the output `y` (whichever is
    /// cheaper: sigmoid and tanh use `y`).
    #[inline]
    pub fn derivative(self, x: f32, y: f32) -> f32 {
        match self {
            Activation::Step => 0.0,
            Activation::Sigmoid => y * (1.0 - y),
            Activation::Tanh => 1.0 - y * y,
            Activation::Relu => (x > 0.0) as u8 as f32,
            Activation::LeakyRelu(s) => {
                if x > 0.0 {
                    1.0
                } else {
                    s
                }
            }
            Activation::Identity => 1.0,
        }
    }
}

/// Logistic function, written to avoid `exp` overflow for large `|x|`.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Pointwise activations and their gradients, on one device.
pub trait ActivationOp: Device {
    /// `y = act(x)`.
    fn activation_forward(&self, act: Activation, x: &Self::Buf, y: &mut Self::Buf) -> Result<()>;
    /// `dx = act'(x) * dy`, given the forward's input `x` and output `y`.
    fn activation_backward(
        &self,
        act: Activation,
        x: &Self::Buf,
        y: &Self::Buf,
        dy: &Self::Buf,
        dx: &mut Self::Buf,
    ) -> Result<()>;
}

/// `y = f(x)` elementwise; generic over `f` so each activation gets its own
/// loop, which the compiler vectorises: through `on_cpu_path`, for the
/// CPU path's width rather than the baseline's 4 lanes.
#[inline(always)]
fn forward_with(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32 + Sync) {
    let run = |(y, x): (&mut [f32], &[f32])| {
        on_cpu_path(
            #[inline(always)]
            || y.iter_mut().zip(x).for_each(|(y, &x)| *y = f(x)),
        )
    };
    if x.len() >= PARALLEL_MIN {
        y.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(run);
    } else {
        run((y, x));
    }
}

/// A chunk of (dx, ((x, y), dy)), as rayon's zipped chunks hand it over.
type BackwardChunk<'a> = (&'a mut [f32], ((&'a [f32], &'a [f32]), &'a [f32]));

#[inline(always)]
fn backward_with(
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    d: impl Fn(f32, f32) -> f32 + Sync,
) {
    let run = |(dx, ((x, y), dy)): BackwardChunk<'_>| {
        on_cpu_path(
            #[inline(always)]
            || {
                dx.iter_mut()
                    .zip(x.iter().zip(y).zip(dy))
                    .for_each(|(dx, ((&x, &y), &dy))| *dx = d(x, y) * dy)
            },
        )
    };
    if x.len() >= PARALLEL_MIN {
        dx.par_chunks_mut(CHUNK)
            .zip(
                x.par_chunks(CHUNK)
                    .zip(y.par_chunks(CHUNK))
                    .zip(dy.par_chunks(CHUNK)),
            )
            .for_each(run);
    } else {
        run((dx, ((x, y), dy)));
    }
}

impl ActivationOp for Cpu {
    fn activation_forward(&self, act: Activation, x: &Vec<f32>, y: &mut Vec<f32>) -> Result<()> {
        check_len("activation y", x.len(), y.len())?;
        // One loop per activation, so each compiles to its own (vectorised)
        // loop instead of a match per value.
        match act {
            Activation::Relu => forward_with(x, y, |x| Activation::Relu.apply(x)),
            Activation::Identity => y.copy_from_slice(x),
            other => forward_with(x, y, |x| other.apply(x)),
        }
        Ok(())
    }

    fn activation_backward(
        &self,
        act: Activation,
        x: &Vec<f32>,
        y: &Vec<f32>,
        dy: &Vec<f32>,
        dx: &mut Vec<f32>,
    ) -> Result<()> {
        if act == Activation::Step {
            return Err(Error::NotDifferentiable {
                layer: "Step",
                hint: "train with Sigmoid and use Step only for inference",
            });
        }
        let n = x.len();
        check_len("activation y", n, y.len())?;
        check_len("activation dy", n, dy.len())?;
        check_len("activation dx", n, dx.len())?;
        match act {
            Activation::Relu => {
                backward_with(x, y, dy, dx, |x, y| Activation::Relu.derivative(x, y))
            }
            Activation::Sigmoid => {
                backward_with(x, y, dy, dx, |x, y| Activation::Sigmoid.derivative(x, y))
            }
            Activation::Tanh => {
                backward_with(x, y, dy, dx, |x, y| Activation::Tanh.derivative(x, y))
            }
            Activation::Identity => dx.copy_from_slice(dy),
            other => backward_with(x, y, dy, dx, |x, y| other.derivative(x, y)),
        }
        Ok(())
    }
}

#[cfg(feature = "cuda")]
crate::backend::cuda::kernels!("activation");

#[cfg(feature = "cuda")]
impl Activation {
    /// The kernel's code for this activation and its slope (activation.cu).
    fn cuda_code(self) -> (i32, f32) {
        match self {
            Activation::Step => (0, 0.0),
            Activation::Sigmoid => (1, 0.0),
            Activation::Tanh => (2, 0.0),
            Activation::Relu => (3, 0.0),
            Activation::LeakyRelu(s) => (4, s),
            Activation::Identity => (5, 0.0),
        }
    }
}

#[cfg(feature = "cuda")]
impl ActivationOp for crate::backend::Cuda {
    fn activation_forward(&self, act: Activation, x: &Self::Buf, y: &mut Self::Buf) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid};
        check_len("activation y", x.len(), y.len())?;
        if act == Activation::Identity {
            return self.copy(x, y);
        }
        let ((kind, slope), n) = (act.cuda_code(), int(x.len())?);
        let grid = Grid::elements(x.len());
        self.launch(
            &CUDA,
            "activation_forward",
            grid,
            &[&kind, &slope, &n, &x.ptr(), &y.ptr()],
        )
    }

    fn activation_backward(
        &self,
        act: Activation,
        x: &Self::Buf,
        y: &Self::Buf,
        dy: &Self::Buf,
        dx: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid};
        if act == Activation::Step {
            return Err(Error::NotDifferentiable {
                layer: "Step",
                hint: "train with Sigmoid and use Step only for inference",
            });
        }
        check_len("activation y", x.len(), y.len())?;
        check_len("activation dy", x.len(), dy.len())?;
        check_len("activation dx", x.len(), dx.len())?;
        if act == Activation::Identity {
            return self.copy(dy, dx);
        }
        let ((kind, slope), n) = (act.cuda_code(), int(x.len())?);
        let args: [&dyn crate::backend::cuda::KernelArg; 7] =
            [&kind, &slope, &n, &x.ptr(), &y.ptr(), &dy.ptr(), &dx.ptr()];
        self.launch(&CUDA, "activation_backward", Grid::elements(x.len()), &args)
    }
}
