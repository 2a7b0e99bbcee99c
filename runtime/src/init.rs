//! Weight initialisation schemes.

use crate::rng::Rng;

/// How a layer's weights are drawn. Biases start at zero.
///
/// `network!` picks [`Init::HeNormal`] for a layer followed by a ReLU-family
/// activation and [`Init::GlorotUniform`] otherwise; `Dense(128, init =
/// glorot_normal)` overrides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// `N(0, 2 / fan_in)` (He et al. 2015), for ReLU networks.
    HeNormal,
    /// `U(-a, a)` with `a = sqrt(6 / fan_in)`.
    HeUniform,
    /// `N(0, 2 / (fan_in + fan_out))` (Glorot & Bengio 2010).
    GlorotNormal,
    /// `U(-a, a)` with `a = sqrt(6 / (fan_in + fan_out))`; Keras' default.
    GlorotUniform,
    /// PyTorch's `nn.Linear` default: `U(-a, a)`, `a = 1 / sqrt(fan_in)`.
    TorchDefault,
    /// All zeros (for tests and special cases; a hidden layer of zeros
    /// never learns).
    Zeros,
}

impl Init {
    /// Fill `out` with weights for a layer of the given fans.
    pub fn fill(self, rng: &mut Rng, fan_in: usize, fan_out: usize, out: &mut [f32]) {
        let (fi, fo) = (fan_in as f32, fan_out as f32);
        match self {
            Init::HeNormal => normal(rng, (2.0 / fi).sqrt(), out),
            Init::HeUniform => uniform(rng, (6.0 / fi).sqrt(), out),
            Init::GlorotNormal => normal(rng, (2.0 / (fi + fo)).sqrt(), out),
            Init::GlorotUniform => uniform(rng, (6.0 / (fi + fo)).sqrt(), out),
            Init::TorchDefault => uniform(rng, 1.0 / fi.sqrt(), out),
            Init::Zeros => out.fill(0.0),
        }
    }
}

fn normal(rng: &mut Rng, std: f32, out: &mut [f32]) {
    out.iter_mut().for_each(|v| *v = std * rng.normal());
}

fn uniform(rng: &mut Rng, limit: f32, out: &mut [f32]) {
    out.iter_mut()
        .for_each(|v| *v = rng.uniform_in(-limit, limit));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn he_normal_variance() {
        let mut rng = Rng::new(0);
        let mut w = vec![0.0; 50_000];
        Init::HeNormal.fill(&mut rng, 100, 10, &mut w);
        let var = w.iter().map(|v| (v * v) as f64).sum::<f64>() / w.len() as f64;
        assert!((var - 0.02).abs() < 0.001, "{var}");
    }

    #[test]
    fn glorot_uniform_bounds() {
        let mut rng = Rng::new(0);
        let mut w = vec![0.0; 10_000];
        Init::GlorotUniform.fill(&mut rng, 4, 2, &mut w);
        assert!(w.iter().all(|v| v.abs() <= 1.0));
        assert!(w.iter().any(|v| v.abs() > 0.9));
    }
}
