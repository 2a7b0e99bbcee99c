//! Numerical gradient checking by central differences.
//!
//! Compares the gradients a layer's `backward` computes with
//! `(f(v + eps) - f(v - eps)) / 2 eps` for every parameter and every input
//! value. Use it to test a custom layer, or to check a network after a
//! change. The scalar being differentiated is `sum(w * layer(x))` for fixed
//! random weights `w`, so every output contributes.

use crate::layers::{Layer, TrainCtx};
use crate::loss::Loss;
use crate::ops::Backend;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Result;

/// Result of a gradient check.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheck {
    /// Largest `|analytic - numeric| / max(|analytic|, |numeric|, floor)`.
    pub max_rel_err: f32,
    /// Where it occurred (`weight[12]`, `input[3]`).
    pub worst: String,
    /// Analytic and numeric values there.
    pub worst_values: (f32, f32),
    /// How many values were compared.
    pub checked: usize,
}

impl GradCheck {
    /// Gradients below this magnitude are compared absolutely: central
    /// differences in f32 cannot resolve them relatively.
    pub const FLOOR: f32 = 1e-2;

    fn new() -> Self {
        GradCheck {
            max_rel_err: 0.0,
            worst: String::new(),
            worst_values: (0.0, 0.0),
            checked: 0,
        }
    }

    fn compare(&mut self, what: &str, i: usize, analytic: f32, numeric: f32) {
        let rel = (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(Self::FLOOR);
        self.checked += 1;
        if rel > self.max_rel_err || rel.is_nan() {
            self.max_rel_err = if rel.is_nan() { f32::INFINITY } else { rel };
            self.worst = format!("{what}[{i}]");
            self.worst_values = (analytic, numeric);
        }
    }
}

/// Weighted sum of the layer's training output, in f64.
fn objective<B: Backend, L: Layer<B>>(
    layer: &mut L,
    x: &Tensor<B, L::Input>,
    w: &[f32],
    seed: u64,
) -> Result<f64> {
    let mut state = L::State::default();
    let y = layer
        .forward_train(x, &mut state, &mut TrainCtx::new(seed))?
        .to_vec()?;
    Ok(y.iter().zip(w).map(|(a, b)| *a as f64 * *b as f64).sum())
}

/// Check every parameter and input gradient of `layer` at `x` with step
/// `eps`. Training-mode randomness (dropout) is fixed by `seed`, so every
/// evaluation sees the same mask.
pub fn check_layer<B: Backend, L: Layer<B>>(
    layer: &mut L,
    x: &Tensor<B, L::Input>,
    eps: f32,
    seed: u64,
) -> Result<GradCheck> {
    let dev = x.device().clone();
    let n_out = x.batch() * <L::Output as Shape>::SIZE;
    let mut rng = Rng::new(seed);
    let w: Vec<f32> = (0..n_out).map(|_| rng.normal()).collect();

    // Analytic gradients.
    let mut state = L::State::default();
    layer.forward_train(x, &mut state, &mut TrainCtx::new(seed))?;
    let dy = Tensor::from_slice(&dev, &w)?;
    let mut grads = layer.zero_grads(&dev)?;
    let dx = layer.backward(x, &dy, &mut state, &mut grads)?.to_vec()?;
    let mut analytic = Vec::new();
    layer.visit_grads(&grads, &mut |_, g| {
        analytic.push(g.to_vec()?);
        Ok(())
    })?;
    let names: Vec<String> = crate::train::trainable_params(layer)?
        .into_iter()
        .map(|(name, _)| name)
        .collect();

    let mut report = GradCheck::new();
    // Parameters, one value at a time.
    for (k, (name, grad)) in names.iter().zip(&analytic).enumerate() {
        for (i, &g) in grad.iter().enumerate() {
            let mut values = [0.0f64; 2];
            for (slot, sign) in values.iter_mut().zip([1.0f32, -1.0]) {
                nudge(layer, k, i, sign * eps)?;
                *slot = objective(layer, x, &w, seed)?;
                nudge(layer, k, i, -sign * eps)?;
            }
            report.compare(
                name,
                i,
                g,
                ((values[0] - values[1]) / (2.0 * eps as f64)) as f32,
            );
        }
    }
    // Inputs.
    let mut xv = x.to_vec()?;
    for i in 0..xv.len() {
        let orig = xv[i];
        let mut values = [0.0f64; 2];
        for (slot, sign) in values.iter_mut().zip([1.0f32, -1.0]) {
            xv[i] = orig + sign * eps;
            *slot = objective(layer, &Tensor::from_slice(&dev, &xv)?, &w, seed)?;
        }
        xv[i] = orig;
        report.compare(
            "input",
            i,
            dx[i],
            ((values[0] - values[1]) / (2.0 * eps as f64)) as f32,
        );
    }
    Ok(report)
}

/// Add `delta` to value `i` of trainable parameter number `k` (in visit
/// order).
fn nudge<B: Backend, L: Layer<B>>(layer: &mut L, k: usize, i: usize, delta: f32) -> Result<()> {
    let mut idx = 0;
    layer.visit_params_mut("", &mut |_, p| {
        if !p.is_trainable() {
            return Ok(());
        }
        if idx == k {
            let mut v = p.to_vec()?;
            v[i] += delta;
            p.set(&v)?;
        }
        idx += 1;
        Ok(())
    })
}

/// Check a loss's gradient with respect to the predictions.
pub fn check_loss<B: Backend, S: Shape, L: Loss<S>>(
    loss: &L,
    pred: &Tensor<B, S>,
    target: &Tensor<B, L::Target>,
    eps: f32,
) -> Result<GradCheck> {
    let dev = pred.device().clone();
    let (_, grad) = loss.value_and_grad(pred, target)?;
    let grad = grad.to_vec()?;
    let mut p = pred.to_vec()?;
    let mut report = GradCheck::new();
    for i in 0..p.len() {
        let orig = p[i];
        p[i] = orig + eps;
        let plus = loss.value(&Tensor::from_slice(&dev, &p)?, target)? as f64;
        p[i] = orig - eps;
        let minus = loss.value(&Tensor::from_slice(&dev, &p)?, target)? as f64;
        p[i] = orig;
        report.compare(
            "pred",
            i,
            grad[i],
            ((plus - minus) / (2.0 * eps as f64)) as f32,
        );
    }
    Ok(report)
}
