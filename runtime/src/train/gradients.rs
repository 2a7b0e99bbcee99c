//! One call for a batch's loss and every parameter's gradient, by name:
//! what a user inspecting or clipping gradients, or writing an optimiser,
//! needs without driving states and gradient structs by hand.

use crate::layers::{Layer, TrainCtx};
use crate::loss::Loss;
use crate::ops::Backend;
use crate::tensor::Tensor;
use crate::Result;

/// How the forward pass behind [`gradients`] runs, as PyTorch's
/// `model.train()` and `model.eval()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Training behaviour: dropout drops (with masks fixed by the seed),
    /// BatchNorm normalises by the batch's statistics and moves its
    /// running statistics towards them.
    Train {
        /// The seed of the dropout masks.
        seed: u64,
    },
    /// Inference behaviour: no dropout, BatchNorm normalises by its running
    /// statistics and leaves them as they are. The gradients are those of
    /// the network with BatchNorm frozen, as when fine-tuning with
    /// PyTorch's BatchNorm layers in `eval()`.
    Eval,
}

/// A trainable parameter's gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedGrad {
    /// The parameter's name, as saved (`fc1.weight`).
    pub name: String,
    /// Its shape, PyTorch's layout (`[out, in]` for a Dense weight).
    pub dims: Vec<usize>,
    /// The gradient of the batch-mean loss, in that layout.
    pub values: Vec<f32>,
}

/// What [`gradients`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients {
    /// The batch-mean loss.
    pub loss: f32,
    /// Every trainable parameter's gradient, in the order
    /// [`Layer::visit_params`] visits them (BatchNorm's running statistics,
    /// which are not trained, have none).
    pub grads: Vec<NamedGrad>,
}

impl Gradients {
    /// The gradient of the parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&NamedGrad> {
        self.grads.iter().find(|g| g.name == name)
    }

    /// The L2 norm of all the gradients together (what gradient clipping
    /// by norm compares with its threshold).
    pub fn global_norm(&self) -> f32 {
        self.grads
            .iter()
            .flat_map(|g| &g.values)
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt() as f32
    }
}

/// The name and dims of every trainable parameter of `model`, in the
/// order [`Layer::visit_grads`] visits their gradients: buffers (running
/// statistics) have no gradient, so they are left out here too.
pub(crate) fn trainable_params<B: Backend, M: Layer<B>>(
    model: &M,
) -> Result<Vec<(String, Vec<usize>)>> {
    let mut named = Vec::new();
    model.visit_params("", &mut |name, p| {
        if p.is_trainable() {
            named.push((name.to_string(), p.dims().to_vec()));
        }
        Ok(())
    })?;
    Ok(named)
}

/// The loss of `model` on the batch `x` with targets `y`, and the gradient
/// of every trainable parameter with its name, in one call.
///
/// `Mode::Train` runs the forward pass as `fit` does (so BatchNorm's
/// running statistics move, as in a PyTorch training step); `Mode::Eval`
/// leaves the model as it is. The parameters are never changed.
///
/// ```
/// use staticnn_runtime::layers::Dense;
/// use staticnn_runtime::train::{gradients, Mode};
/// use staticnn_runtime::{Cpu, Init, Mse, Rank1, Rng, Tensor};
///
/// let mut layer = Dense::<Cpu, 3, 2>::init(&Cpu, &mut Rng::new(0), Init::GlorotUniform, true)?;
/// let x = Tensor::<Cpu, Rank1<3>>::from_slice(&Cpu, &[1.0, 2.0, 3.0])?;
/// let y = Tensor::<Cpu, Rank1<2>>::from_slice(&Cpu, &[0.0, 1.0])?;
/// let g = gradients(&mut layer, &Mse, &x, &y, Mode::Eval)?;
/// assert_eq!(g.get("weight").unwrap().dims, [2, 3]);
/// assert_eq!(g.get("bias").unwrap().values.len(), 2);
/// assert!(g.loss > 0.0);
/// # Ok::<(), staticnn_runtime::Error>(())
/// ```
pub fn gradients<B, M, L>(
    model: &mut M,
    loss: &L,
    x: &Tensor<B, M::Input>,
    y: &Tensor<B, L::Target>,
    mode: Mode,
) -> Result<Gradients>
where
    B: Backend,
    M: Layer<B>,
    L: Loss<M::Output>,
{
    let dev = x.device().clone();
    let mut state = M::State::default();
    let pred = match mode {
        Mode::Train { seed } => model.forward_train(x, &mut state, &mut TrainCtx::new(seed))?,
        Mode::Eval => model.infer(x, &mut state)?,
    };
    let (value, dy) = loss.value_and_grad(pred, y)?;
    let mut grads = model.zero_grads(&dev)?;
    model.backward_params(x, &dy, &mut state, &mut grads)?;

    let named = trainable_params(model)?;
    let mut values = Vec::with_capacity(named.len());
    model.visit_grads(&grads, &mut |_, g| {
        values.push(g.to_vec()?);
        Ok(())
    })?;
    Ok(Gradients {
        loss: value,
        grads: named
            .into_iter()
            .zip(values)
            .map(|((name, dims), values)| NamedGrad { name, dims, values })
            .collect(),
    })
}
