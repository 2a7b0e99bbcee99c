//! Optimiser update kernels, following PyTorch's update rules exactly so
//! that hyper-parameters carry over.

use crate::backend::{cpu::check_len, Cpu, Device};
use crate::Result;
use rayon::prelude::*;

/// SGD hyper-parameters for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdStep {
    /// Learning rate.
    pub lr: f32,
    /// Momentum factor (0 for none).
    pub momentum: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
}

/// Adam / AdamW hyper-parameters for one step; `t` counts steps from 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first-moment estimate.
    pub beta1: f32,
    /// Decay of the second-moment estimate.
    pub beta2: f32,
    /// Added to the denominator for stability.
    pub eps: f32,
    /// Weight decay (L2, or decoupled for AdamW).
    pub weight_decay: f32,
    /// AdamW: decay the weights directly instead of adding to the gradient.
    pub decoupled: bool,
    /// The step number, from 1 (for bias correction).
    pub t: u64,
}

/// An Adam step's hyper-parameters folded into the constants its update
/// uses, the same on every backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AdamConstants {
    /// `lr / (1 - beta1^t)`.
    pub step: f32,
    /// `1 / sqrt(1 - beta2^t)`.
    pub inv_sqrt_bc2: f32,
    /// What the parameter is multiplied by first (AdamW's decay).
    pub shrink: f32,
    /// What times the parameter is added to the gradient (Adam's decay).
    pub l2: f32,
}

impl AdamStep {
    pub(crate) fn constants(&self) -> AdamConstants {
        let bc1 = 1.0 - self.beta1.powf(self.t as f32);
        let bc2 = 1.0 - self.beta2.powf(self.t as f32);
        // Decoupled decay (AdamW) shrinks the parameter; L2 decay (Adam)
        // adds to the gradient. Both are folded into constants so the loop
        // has no branch and vectorises (indexing with a branch inside ran
        // at half the speed of the products on a 2.8M-parameter network).
        let (shrink, l2) = if self.decoupled {
            (1.0 - self.lr * self.weight_decay, 0.0)
        } else {
            (1.0, self.weight_decay)
        };
        // PyTorch's arrangement: step lr / bc1, denominator
        // sqrt(v) / sqrt(bc2) + eps. One square root and one division per
        // value; the bias corrections become constants.
        AdamConstants {
            step: self.lr / bc1,
            inv_sqrt_bc2: 1.0 / bc2.sqrt(),
            shrink,
            l2,
        }
    }
}

/// RMSprop hyper-parameters for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmsPropStep {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the squared-gradient average.
    pub alpha: f32,
    /// Added to the denominator for stability.
    pub eps: f32,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
}

/// AdaGrad hyper-parameters for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaGradStep {
    /// Learning rate.
    pub lr: f32,
    /// Added to the denominator for stability.
    pub eps: f32,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
}

/// The optimisers' update rules, fused into one pass over a parameter, on one device.
pub trait OptimOp: Device {
    /// `velocity` must be given when `momentum != 0`.
    fn sgd_step(
        &self,
        h: &SgdStep,
        param: &mut Self::Buf,
        grad: &Self::Buf,
        velocity: Option<&mut Self::Buf>,
    ) -> Result<()>;
    /// One Adam or AdamW step; `m` and `v` are the moment estimates.
    fn adam_step(
        &self,
        h: &AdamStep,
        param: &mut Self::Buf,
        grad: &Self::Buf,
        m: &mut Self::Buf,
        v: &mut Self::Buf,
    ) -> Result<()>;
    /// One RMSprop step; `sq` is the squared-gradient average.
    fn rmsprop_step(
        &self,
        h: &RmsPropStep,
        param: &mut Self::Buf,
        grad: &Self::Buf,
        sq: &mut Self::Buf,
    ) -> Result<()>;
    /// One AdaGrad step; `sum` is the sum of squared gradients.
    fn adagrad_step(
        &self,
        h: &AdaGradStep,
        param: &mut Self::Buf,
        grad: &Self::Buf,
        sum: &mut Self::Buf,
    ) -> Result<()>;
}

/// Values per parallel chunk of an Adam update, which splits from two
/// chunks up: its division and square root per value make even a 128K
/// layer worth both cores.
const UPDATE_CHUNK: usize = 1 << 16;

/// A chunk of (parameter, gradient, first moment, second moment), as
/// rayon's zipped chunks hand it over.
type AdamChunk<'a> = (((&'a mut [f32], &'a [f32]), &'a mut [f32]), &'a mut [f32]);

impl OptimOp for Cpu {
    fn sgd_step(
        &self,
        h: &SgdStep,
        param: &mut Vec<f32>,
        grad: &Vec<f32>,
        velocity: Option<&mut Vec<f32>>,
    ) -> Result<()> {
        check_len("sgd grad", param.len(), grad.len())?;
        match velocity {
            Some(v) if h.momentum != 0.0 => {
                check_len("sgd velocity", param.len(), v.len())?;
                for i in 0..param.len() {
                    let g = grad[i] + h.weight_decay * param[i];
                    v[i] = h.momentum * v[i] + g;
                    let step = if h.nesterov {
                        g + h.momentum * v[i]
                    } else {
                        v[i]
                    };
                    param[i] -= h.lr * step;
                }
            }
            _ => {
                let (lr, wd) = (h.lr, h.weight_decay);
                let update = |(p, g): (&mut [f32], &[f32])| {
                    for (p, g) in p.iter_mut().zip(g) {
                        *p -= lr * (g + wd * *p);
                    }
                };
                // A plain step is bound by memory, like an activation.
                if param.len() >= super::PARALLEL_ELEMENTWISE {
                    param
                        .par_chunks_mut(super::PARALLEL_CHUNK)
                        .zip(grad.par_chunks(super::PARALLEL_CHUNK))
                        .for_each(update);
                } else {
                    update((param, grad));
                }
            }
        }
        Ok(())
    }

    fn adam_step(
        &self,
        h: &AdamStep,
        param: &mut Vec<f32>,
        grad: &Vec<f32>,
        m: &mut Vec<f32>,
        v: &mut Vec<f32>,
    ) -> Result<()> {
        let n = param.len();
        check_len("adam grad", n, grad.len())?;
        check_len("adam m", n, m.len())?;
        check_len("adam v", n, v.len())?;
        let AdamConstants {
            step,
            inv_sqrt_bc2,
            shrink,
            l2,
        } = h.constants();
        let (b1, b2, eps) = (h.beta1, h.beta2, h.eps);
        // Large parameters are updated in parallel chunks: the update is
        // bound by divisions and memory, where the second hardware thread
        // still helps.
        let update = |(((p, g), m), v): AdamChunk<'_>| {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                let g = g + l2 * *p;
                *p *= shrink;
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                *p -= step * *m / (v.sqrt() * inv_sqrt_bc2 + eps);
            }
        };
        if n > UPDATE_CHUNK {
            param
                .par_chunks_mut(UPDATE_CHUNK)
                .zip(grad.par_chunks(UPDATE_CHUNK))
                .zip(m.par_chunks_mut(UPDATE_CHUNK))
                .zip(v.par_chunks_mut(UPDATE_CHUNK))
                .for_each(update);
        } else {
            let (p, g) = (param.as_mut_slice(), grad.as_slice());
            update((((p, g), m.as_mut_slice()), v.as_mut_slice()));
        }
        Ok(())
    }

    fn rmsprop_step(
        &self,
        h: &RmsPropStep,
        param: &mut Vec<f32>,
        grad: &Vec<f32>,
        sq: &mut Vec<f32>,
    ) -> Result<()> {
        check_len("rmsprop grad", param.len(), grad.len())?;
        check_len("rmsprop sq", param.len(), sq.len())?;
        for i in 0..param.len() {
            let g = grad[i] + h.weight_decay * param[i];
            sq[i] = h.alpha * sq[i] + (1.0 - h.alpha) * g * g;
            param[i] -= h.lr * g / (sq[i].sqrt() + h.eps);
        }
        Ok(())
    }

    fn adagrad_step(
        &self,
        h: &AdaGradStep,
        param: &mut Vec<f32>,
        grad: &Vec<f32>,
        sum: &mut Vec<f32>,
    ) -> Result<()> {
        check_len("adagrad grad", param.len(), grad.len())?;
        check_len("adagrad sum", param.len(), sum.len())?;
        for i in 0..param.len() {
            let g = grad[i] + h.weight_decay * param[i];
            sum[i] += g * g;
            param[i] -= h.lr * g / (sum[i].sqrt() + h.eps);
        }
        Ok(())
    }
}

#[cfg(feature = "cuda")]
crate::backend::cuda::kernels!("optim");

#[cfg(feature = "cuda")]
impl OptimOp for crate::backend::Cuda {
    fn sgd_step(
        &self,
        h: &SgdStep,
        param: &mut Self::Buf,
        grad: &Self::Buf,
        velocity: Option<&mut Self::Buf>,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid, KernelArg};
        check_len("sgd grad", param.len(), grad.len())?;
        let (n, grid) = (int(param.len())?, Grid::elements(param.len()));
        let (p, g) = (param.ptr(), grad.ptr());
        match velocity {
            Some(v) if h.momentum != 0.0 => {
                check_len("sgd velocity", param.len(), v.len())?;
                let nesterov = i32::from(h.nesterov);
                let args: [&dyn KernelArg; 8] = [
                    &n,
                    &h.lr,
                    &h.momentum,
                    &h.weight_decay,
                    &nesterov,
                    &p,
                    &g,
                    &v.ptr(),
                ];
                self.launch(&CUDA, "sgd_momentum", grid, &args)
            }
            _ => self.launch(&CUDA, "sgd", grid, &[&n, &h.lr, &h.weight_decay, &p, &g]),
        }
    }

    fn adam_step(
        &self,
        h: &AdamStep,
        param: &mut Self::Buf,
        grad: &Self::Buf,
        m: &mut Self::Buf,
        v: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid, KernelArg};
        let len = param.len();
        check_len("adam grad", len, grad.len())?;
        check_len("adam m", len, m.len())?;
        check_len("adam v", len, v.len())?;
        let AdamConstants {
            step,
            inv_sqrt_bc2,
            shrink,
            l2,
        } = h.constants();
        let n = int(len)?;
        let (p, g, mp, vp) = (param.ptr(), grad.ptr(), m.ptr(), v.ptr());
        let args: [&dyn KernelArg; 12] = [
            &n,
            &step,
            &inv_sqrt_bc2,
            &h.beta1,
            &h.beta2,
            &h.eps,
            &shrink,
            &l2,
            &p,
            &g,
            &mp,
            &vp,
        ];
        self.launch(&CUDA, "adam", Grid::elements(len), &args)
    }

    fn rmsprop_step(
        &self,
        h: &RmsPropStep,
        param: &mut Self::Buf,
        grad: &Self::Buf,
        sq: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid, KernelArg};
        check_len("rmsprop grad", param.len(), grad.len())?;
        check_len("rmsprop sq", param.len(), sq.len())?;
        let n = int(param.len())?;
        let (p, g, s) = (param.ptr(), grad.ptr(), sq.ptr());
        let args: [&dyn KernelArg; 8] = [&n, &h.lr, &h.alpha, &h.eps, &h.weight_decay, &p, &g, &s];
        self.launch(&CUDA, "rmsprop", Grid::elements(param.len()), &args)
    }

    fn adagrad_step(
        &self,
        h: &AdaGradStep,
        param: &mut Self::Buf,
        grad: &Self::Buf,
        sum: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid, KernelArg};
        check_len("adagrad grad", param.len(), grad.len())?;
        check_len("adagrad sum", param.len(), sum.len())?;
        let n = int(param.len())?;
        let (p, g, s) = (param.ptr(), grad.ptr(), sum.ptr());
        let args: [&dyn KernelArg; 7] = [&n, &h.lr, &h.eps, &h.weight_decay, &p, &g, &s];
        self.launch(&CUDA, "adagrad", Grid::elements(param.len()), &args)
    }
}
