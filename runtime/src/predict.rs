//! Inference one sample at a time with no allocation: the path for
//! embedding a trained network in an application.

use crate::backend::{Cpu, Device};
use crate::data::Standardizer;
use crate::layers::Layer;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Runs a CPU network on one sample at a time, reusing its buffers.
///
/// `new` allocates the input and every layer's output once; after the
/// first call, [`predict`](Predictor::predict) allocates nothing for
/// networks of Dense layers and activations (`tests/embedded.rs` checks
/// this with a counting allocator). It borrows the network, so several
/// predictors (one per thread) can share one network.
///
/// ```
/// use staticnn_runtime::layers::Dense;
/// use staticnn_runtime::{Cpu, Init, Predictor, Rng};
///
/// // Any layer or `network!` network; here a single Dense layer.
/// let layer = Dense::<Cpu, 4, 3>::init(&Cpu, &mut Rng::new(0), Init::GlorotUniform, true)?;
/// let mut predictor = Predictor::new(&layer)?;
/// let outputs = predictor.predict(&[0.1, 0.2, 0.3, 0.4])?;
/// assert_eq!(outputs.len(), 3);
/// let class = predictor.predict_class(&[0.4, 0.3, 0.2, 0.1])?;
/// assert!(class < 3);
/// # Ok::<(), staticnn_runtime::Error>(())
/// ```
pub struct Predictor<'m, M: Layer<Cpu>> {
    model: &'m M,
    input: Tensor<Cpu, M::Input>,
    state: M::State,
    standardizer: Option<Standardizer>,
}

impl<'m, M: Layer<Cpu>> Predictor<'m, M> {
    /// A predictor for `model`, with its buffers allocated.
    pub fn new(model: &'m M) -> Result<Self> {
        let mut p = Predictor {
            model,
            input: Tensor::zeros(&Cpu, 1)?,
            state: M::State::default(),
            standardizer: None,
        };
        // One pass sizes every layer's buffers.
        model.infer(&p.input, &mut p.state)?;
        Ok(p)
    }

    /// Standardise every input with `standardizer` (the one the network
    /// was trained behind, from [`Standardizer::load`]) before the network
    /// sees it. Refuses one fitted on samples of another size.
    pub fn with_standardizer(mut self, standardizer: Standardizer) -> Result<Self> {
        standardizer.check_features(<M::Input as Shape>::SIZE)?;
        self.standardizer = Some(standardizer);
        Ok(self)
    }

    /// The network's output for one sample of `M::Input::SIZE` values
    /// (standardised first when the predictor has a standardiser).
    pub fn predict(&mut self, input: &[f32]) -> Result<&[f32]> {
        let size = <M::Input as Shape>::SIZE;
        if input.len() != size {
            return Err(Error::SampleLength {
                shape: <M::Input as Shape>::DIMS,
                expected: size,
                got: input.len(),
            });
        }
        Cpu.write(self.input.buf_mut(), input)?;
        if let Some(s) = &self.standardizer {
            s.apply_sample(self.input.as_mut_slice())?;
        }
        Ok(self.model.infer(&self.input, &mut self.state)?.as_slice())
    }

    /// The index of the largest output (the predicted class).
    pub fn predict_class(&mut self, input: &[f32]) -> Result<usize> {
        Ok(crate::ops::loss::argmax(self.predict(input)?))
    }
}
