//! Pointwise activation layers. One generic layer, [`Activate`], applies
//! any [`Activation`]; the public names (`Relu`, `Sigmoid`, ...) are aliases
//! that fix the kind.

use super::{no_forward, no_params, Buffers, Layer};
use crate::ops::activation::Activation;
use crate::ops::Backend;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Result;
use std::marker::PhantomData;

/// Marker types naming each activation.
pub mod kind {
    use crate::ops::activation::Activation;

    /// An activation kind, as a type (so layers are zero-sized) or, for
    /// LeakyRelu, a value carrying the slope.
    pub trait ActivationKind: Copy + Send + Sync + std::fmt::Debug + 'static {
        /// The function this kind stands for.
        fn activation(&self) -> Activation;
    }

    macro_rules! unit_kinds {
        ($($name:ident),*) => {$(
            /// The activation of the same name, as a zero-sized type.
            #[derive(Debug, Clone, Copy, Default)]
            pub struct $name;
            impl ActivationKind for $name {
                fn activation(&self) -> Activation {
                    Activation::$name
                }
            }
        )*};
    }
    unit_kinds!(Step, Sigmoid, Tanh, Relu, Identity);

    /// Leaky ReLU with its negative slope.
    #[derive(Debug, Clone, Copy)]
    pub struct LeakyRelu {
        /// The slope for negative inputs (PyTorch's `negative_slope`).
        pub slope: f32,
    }

    impl Default for LeakyRelu {
        /// PyTorch's default slope, 0.01.
        fn default() -> Self {
            LeakyRelu { slope: 0.01 }
        }
    }

    impl ActivationKind for LeakyRelu {
        fn activation(&self) -> Activation {
            Activation::LeakyRelu(self.slope)
        }
    }
}

use kind::ActivationKind;

/// A pointwise activation over samples of shape `S`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Activate<S, K> {
    kind: K,
    _shape: PhantomData<S>,
}

/// Heaviside step: 1 for positive inputs, else 0. Inference only; its
/// backward pass returns an error.
pub type Step<S> = Activate<S, kind::Step>;
/// Logistic sigmoid.
pub type Sigmoid<S> = Activate<S, kind::Sigmoid>;
/// Hyperbolic tangent.
pub type Tanh<S> = Activate<S, kind::Tanh>;
/// Rectified linear unit.
pub type Relu<S> = Activate<S, kind::Relu>;
/// Leaky rectified linear unit.
pub type LeakyRelu<S> = Activate<S, kind::LeakyRelu>;
/// The identity (a placeholder layer).
pub type Identity<S> = Activate<S, kind::Identity>;

impl<S, K: ActivationKind + Default> Activate<S, K> {
    /// The activation layer (zero-sized for every kind but LeakyRelu).
    pub fn new() -> Self {
        Self::with_kind(K::default())
    }
}

impl<S, K: ActivationKind> Activate<S, K> {
    /// The activation layer of `kind` (for LeakyRelu, its slope).
    pub fn with_kind(kind: K) -> Self {
        Activate {
            kind,
            _shape: PhantomData,
        }
    }

    /// The activation this layer applies.
    pub fn activation(&self) -> Activation {
        self.kind.activation()
    }
}

impl<S> LeakyRelu<S> {
    /// Leaky ReLU with the given negative slope.
    pub fn with_slope(slope: f32) -> Self {
        Self::with_kind(kind::LeakyRelu { slope })
    }
}

impl<B: Backend, S: Shape, K: ActivationKind> Layer<B> for Activate<S, K> {
    type Input = S;
    type Output = S;
    type State = Buffers<B, S, S>;
    no_params!(B);

    fn infer<'s>(&self, x: &Tensor<B, S>, state: &'s mut Self::State) -> Result<&'s Tensor<B, S>> {
        let y = Tensor::reuse(&mut state.y, x.device(), x.batch())?;
        x.device()
            .activation_forward(self.activation(), x.buf(), y.buf_mut())?;
        Ok(y)
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, S>> {
        state.output()
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, S>,
        dy: &Tensor<B, S>,
        state: &'s mut Self::State,
        _grads: &mut (),
    ) -> Result<&'s Tensor<B, S>> {
        let y = state.y.as_ref().ok_or_else(no_forward)?;
        let dx = Tensor::reuse(&mut state.dx, x.device(), x.batch())?;
        x.device().activation_backward(
            self.activation(),
            x.buf(),
            y.buf(),
            dy.buf(),
            dx.buf_mut(),
        )?;
        Ok(dx)
    }
}
