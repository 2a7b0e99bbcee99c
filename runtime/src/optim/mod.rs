//! Optimisers and learning-rate schedules.
//!
//! An optimiser walks a model's parameters together with their gradients
//! ([`Layer::visit_grads`]) and keeps its per-parameter state (momentum,
//! moments) in the same order, allocated on the first step and reused.

mod schedule;

pub use schedule::{Constant, CosineAnnealing, ExponentialLr, LrSchedule, StepLr};

use crate::layers::Layer;
use crate::ops::optim::{AdaGradStep, AdamStep, RmsPropStep, SgdStep};
use crate::ops::Backend;
use crate::param::Param;
use crate::Result;

/// Updates a model's parameters from its gradients.
pub trait Optimizer<B: Backend> {
    /// One update of every parameter of `model` from `grads`.
    fn step<M: Layer<B>>(&mut self, model: &mut M, grads: &M::Grads) -> Result<()>;
    /// The current learning rate.
    fn lr(&self) -> f32;
    /// Change the learning rate (schedules call this once per epoch).
    fn set_lr(&mut self, lr: f32);
}

/// `lr` and `set_lr`, the same for every optimiser here.
macro_rules! lr_accessors {
    () => {
        fn lr(&self) -> f32 {
            self.lr
        }
        fn set_lr(&mut self, lr: f32) {
            self.lr = lr;
        }
    };
}

/// Builder methods that set a hyper-parameter field of the same name.
macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $field(mut self, $field: f32) -> Self {
            self.$field = $field;
            self
        }
    )*};
}

/// Walk `model`'s parameters with their gradients and the optimiser's
/// per-parameter state, creating each state with `make` on the first step
/// and reusing it after.
fn walk<B, M, S>(
    model: &mut M,
    grads: &M::Grads,
    states: &mut Vec<S>,
    make: impl Fn(&Param<B>) -> Result<S>,
    mut update: impl FnMut(&mut Param<B>, &Param<B>, &mut S) -> Result<()>,
) -> Result<()>
where
    B: Backend,
    M: Layer<B>,
{
    let mut i = 0;
    model.visit_grads(grads, &mut |p, g| {
        if states.len() == i {
            states.push(make(p)?);
        }
        update(p, g, &mut states[i])?;
        i += 1;
        Ok(())
    })
}

/// Stochastic gradient descent with optional momentum, Nesterov momentum
/// and (L2) weight decay, as PyTorch's `SGD`.
#[derive(Debug)]
pub struct Sgd<B: Backend> {
    lr: f32,
    momentum: f32,
    nesterov: bool,
    weight_decay: f32,
    /// Momentum buffers; `None` while momentum is zero.
    velocity: Vec<Option<Param<B>>>,
}

impl<B: Backend> Sgd<B> {
    /// The optimiser with learning rate `lr` and the defaults of its PyTorch namesake.
    pub fn new(lr: f32) -> Self {
        Sgd {
            lr,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            velocity: Vec::new(),
        }
    }
    setters!(
        /// Momentum factor (PyTorch's `momentum`, default 0).
        momentum,
        /// Weight decay (PyTorch's `weight_decay`).
        weight_decay,
    );
    /// Nesterov momentum (needs a non-zero momentum to have an effect).
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }
}

impl<B: Backend> Optimizer<B> for Sgd<B> {
    fn step<M: Layer<B>>(&mut self, model: &mut M, grads: &M::Grads) -> Result<()> {
        let h = SgdStep {
            lr: self.lr,
            momentum: self.momentum,
            nesterov: self.nesterov,
            weight_decay: self.weight_decay,
        };
        let make = |p: &Param<B>| {
            if h.momentum != 0.0 {
                p.zeros_like().map(Some)
            } else {
                Ok(None)
            }
        };
        walk(model, grads, &mut self.velocity, make, |p, g, v| {
            let dev = p.device().clone();
            dev.sgd_step(&h, p.buf_mut(), g.buf(), v.as_mut().map(Param::buf_mut))
        })
    }
    lr_accessors!();
}

/// Adam (Kingma & Ba 2015) with bias correction and optional L2 weight
/// decay, as PyTorch's `Adam`; [`Adam::adamw`] gives decoupled decay.
#[derive(Debug)]
pub struct Adam<B: Backend> {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    decoupled: bool,
    t: u64,
    /// First and second moment estimates.
    moments: Vec<(Param<B>, Param<B>)>,
}

impl<B: Backend> Adam<B> {
    /// Adam with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no decay.
    pub fn new(lr: f32) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            t: 0,
            moments: Vec::new(),
        }
    }
    /// AdamW (Loshchilov & Hutter 2019): weight decay applied to the weights
    /// directly, not through the gradient. PyTorch's default decay is 0.01.
    pub fn adamw(lr: f32, weight_decay: f32) -> Self {
        Adam {
            weight_decay,
            decoupled: true,
            ..Self::new(lr)
        }
    }
    /// Adam's decay rates of the moment estimates (PyTorch's `betas`, default `(0.9, 0.999)`).
    pub fn betas(mut self, beta1: f32, beta2: f32) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }
    setters!(
        /// Added to the denominator for stability (PyTorch's `eps`).
        eps,
        /// Weight decay (PyTorch's `weight_decay`).
        weight_decay,
    );
}

/// AdamW: [`Adam`] with decoupled weight decay.
pub type AdamW<B> = Adam<B>;

impl<B: Backend> Optimizer<B> for Adam<B> {
    fn step<M: Layer<B>>(&mut self, model: &mut M, grads: &M::Grads) -> Result<()> {
        self.t += 1;
        let h = AdamStep {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
            decoupled: self.decoupled,
            t: self.t,
        };
        let make = |p: &Param<B>| Ok((p.zeros_like()?, p.zeros_like()?));
        walk(model, grads, &mut self.moments, make, |p, g, (m, v)| {
            let dev = p.device().clone();
            dev.adam_step(&h, p.buf_mut(), g.buf(), m.buf_mut(), v.buf_mut())
        })
    }
    lr_accessors!();
}

/// RMSprop (Hinton), as PyTorch's `RMSprop` without momentum or centring.
#[derive(Debug)]
pub struct RmsProp<B: Backend> {
    lr: f32,
    alpha: f32,
    eps: f32,
    weight_decay: f32,
    sq: Vec<Param<B>>,
}

impl<B: Backend> RmsProp<B> {
    /// PyTorch's defaults: alpha 0.99, eps 1e-8.
    pub fn new(lr: f32) -> Self {
        RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            sq: Vec::new(),
        }
    }
    setters!(
        /// Decay of the squared-gradient average (PyTorch's `alpha`, default 0.99).
        alpha,
        /// Added to the denominator for stability (PyTorch's `eps`).
        eps,
        /// Weight decay (PyTorch's `weight_decay`).
        weight_decay,
    );
}

impl<B: Backend> Optimizer<B> for RmsProp<B> {
    fn step<M: Layer<B>>(&mut self, model: &mut M, grads: &M::Grads) -> Result<()> {
        let h = RmsPropStep {
            lr: self.lr,
            alpha: self.alpha,
            eps: self.eps,
            weight_decay: self.weight_decay,
        };
        walk(model, grads, &mut self.sq, Param::zeros_like, |p, g, sq| {
            let dev = p.device().clone();
            dev.rmsprop_step(&h, p.buf_mut(), g.buf(), sq.buf_mut())
        })
    }
    lr_accessors!();
}

/// AdaGrad (Duchi et al. 2011), as PyTorch's `Adagrad`.
#[derive(Debug)]
pub struct AdaGrad<B: Backend> {
    lr: f32,
    eps: f32,
    weight_decay: f32,
    sum: Vec<Param<B>>,
}

impl<B: Backend> AdaGrad<B> {
    /// PyTorch's default eps, 1e-10.
    pub fn new(lr: f32) -> Self {
        AdaGrad {
            lr,
            eps: 1e-10,
            weight_decay: 0.0,
            sum: Vec::new(),
        }
    }
    setters!(
        /// Added to the denominator for stability (PyTorch's `eps`).
        eps,
        /// Weight decay (PyTorch's `weight_decay`).
        weight_decay,
    );
}

impl<B: Backend> Optimizer<B> for AdaGrad<B> {
    fn step<M: Layer<B>>(&mut self, model: &mut M, grads: &M::Grads) -> Result<()> {
        let h = AdaGradStep {
            lr: self.lr,
            eps: self.eps,
            weight_decay: self.weight_decay,
        };
        walk(
            model,
            grads,
            &mut self.sum,
            Param::zeros_like,
            |p, g, sum| {
                let dev = p.device().clone();
                dev.adagrad_step(&h, p.buf_mut(), g.buf(), sum.buf_mut())
            },
        )
    }
    lr_accessors!();
}
