//! Standardisation of input features, as scikit-learn's `StandardScaler`:
//! fitted on the training split, applied to every split, saved with the
//! weights, and applied again by [`Predictor`](crate::Predictor) and the
//! server, so inference sees what training saw.

use super::Dataset;
use crate::shape::Shape;
use crate::{Error, Result};

/// The mean and standard deviation of every input value, from a training
/// split; [`apply`](Standardizer::apply) maps each value `v` of feature `j`
/// to `(v - mean[j]) / std[j]`.
///
/// Features are the values of one sample, so for an image each pixel is
/// a feature of its own (as when scikit-learn is given flattened images).
/// The deviation is the population one (divided by `n`, as
/// scikit-learn's), and a feature that is constant in the training split
/// keeps a deviation of 1, so it is only shifted.
///
/// ```
/// use staticnn_runtime::data::{Dataset, Standardizer};
/// use staticnn_runtime::{ClassIndex, Rank1};
///
/// let train = Dataset::<Rank1<2>, ClassIndex>::new(vec![1.0, 100.0, 3.0, 300.0], vec![0.0, 1.0])?;
/// let scaler = Standardizer::fit(&train)?;
/// assert_eq!(scaler.mean(), &[2.0, 200.0]);
/// let train = scaler.transform(&train)?;
/// assert_eq!(train.inputs(), &[-1.0, -1.0, 1.0, 1.0]);
/// # Ok::<(), staticnn_runtime::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    mean: Vec<f32>,
    std: Vec<f32>,
}

/// The metadata key under which a standardiser is saved in a weights file.
pub(crate) const METADATA_KEY: &str = "staticnn.standardizer";

impl Standardizer {
    /// Fit on `data`'s inputs (normally the training split only, so that
    /// nothing of the held-out data leaks into training). Refuses an empty
    /// dataset.
    pub fn fit<X: Shape, Y: Shape>(data: &Dataset<X, Y>) -> Result<Self> {
        let n = data.len();
        if n == 0 {
            return Err(Error::config(
                "standardizer",
                "cannot be fitted on an empty dataset",
            ));
        }
        // Two passes in f64: the mean, then the squared deviations from it,
        // which stays accurate where the one-pass formula would cancel
        // (large means, small spreads).
        let mut sum = vec![0f64; X::SIZE];
        for sample in data.inputs().chunks_exact(X::SIZE) {
            for (s, &v) in sum.iter_mut().zip(sample) {
                *s += f64::from(v);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
        let mut sq = vec![0f64; X::SIZE];
        for sample in data.inputs().chunks_exact(X::SIZE) {
            for ((s, &v), m) in sq.iter_mut().zip(sample).zip(&mean) {
                let d = f64::from(v) - m;
                *s += d * d;
            }
        }
        let std = sq
            .iter()
            .map(|s| {
                let sd = (s / n as f64).sqrt();
                // scikit-learn's rule: a deviation this small is a constant
                // feature, left unscaled rather than blown up.
                if sd < 10.0 * f64::from(f32::EPSILON) {
                    1.0
                } else {
                    sd as f32
                }
            })
            .collect();
        Ok(Standardizer {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std,
        })
    }

    /// A standardiser from its parts: as many means as deviations, all
    /// finite, every deviation positive.
    pub fn from_parts(mean: Vec<f32>, std: Vec<f32>) -> Result<Self> {
        if mean.len() != std.len() || mean.is_empty() {
            return Err(Error::config(
                "standardizer",
                format!(
                    "{} means and {} deviations; expected the same number, at least one",
                    mean.len(),
                    std.len()
                ),
            ));
        }
        if let Some(j) = mean.iter().position(|m| !m.is_finite()) {
            return Err(Error::config(
                "standardizer",
                format!(
                    "the mean of feature {j} is {}, not a finite number",
                    mean[j]
                ),
            ));
        }
        if let Some(j) = std.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(Error::config(
                "standardizer",
                format!(
                    "the deviation of feature {j} is {}, expected a finite number above 0",
                    std[j]
                ),
            ));
        }
        Ok(Standardizer { mean, std })
    }

    /// Each feature's mean in the data it was fitted on.
    pub fn mean(&self) -> &[f32] {
        &self.mean
    }

    /// Each feature's standard deviation (1 for a constant feature).
    pub fn std(&self) -> &[f32] {
        &self.std
    }

    /// The number of features: values per sample.
    pub fn features(&self) -> usize {
        self.mean.len()
    }

    /// Refuse a standardiser fitted on samples of another size.
    pub(crate) fn check_features(&self, expected: usize) -> Result<()> {
        if self.features() == expected {
            Ok(())
        } else {
            Err(Error::config(
                "standardizer",
                format!(
                    "was fitted on samples of {} values; this network takes {expected}",
                    self.features()
                ),
            ))
        }
    }

    /// Standardise one sample in place.
    pub fn apply_sample(&self, sample: &mut [f32]) -> Result<()> {
        self.check_features(sample.len())?;
        for ((v, m), s) in sample.iter_mut().zip(&self.mean).zip(&self.std) {
            *v = (*v - m) / s;
        }
        Ok(())
    }

    /// Standardise every sample of `inputs` (samples one after another) in
    /// place.
    pub fn apply_samples(&self, inputs: &mut [f32]) -> Result<()> {
        if !inputs.len().is_multiple_of(self.features()) {
            return Err(Error::config(
                "standardizer",
                format!(
                    "{} values are not whole samples of {}",
                    inputs.len(),
                    self.features()
                ),
            ));
        }
        for sample in inputs.chunks_exact_mut(self.features()) {
            self.apply_sample(sample)?;
        }
        Ok(())
    }

    /// Standardise `data`'s inputs in place.
    pub fn apply<X: Shape, Y: Shape>(&self, data: &mut Dataset<X, Y>) -> Result<()> {
        self.check_features(X::SIZE)?;
        self.apply_samples(&mut data.x)
    }

    /// A standardised copy of `data`.
    pub fn transform<X: Shape, Y: Shape>(&self, data: &Dataset<X, Y>) -> Result<Dataset<X, Y>> {
        let mut out = data.clone();
        self.apply(&mut out)?;
        Ok(out)
    }

    /// The standardiser saved in a weights file by
    /// [`io::save_with_standardizer`](crate::io::save_with_standardizer),
    /// or `None` when the file holds none.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Option<Self>> {
        crate::io::load_standardizer(path)
    }

    /// The standardiser as the text saved in a weights file's metadata.
    pub(crate) fn to_metadata(&self) -> String {
        serde_json::json!({ "mean": self.mean, "std": self.std }).to_string()
    }

    /// The standardiser from a weights file's metadata, checked as
    /// [`from_parts`](Standardizer::from_parts) checks it.
    pub(crate) fn from_metadata(text: &str) -> std::result::Result<Self, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Parts {
            mean: Vec<f32>,
            std: Vec<f32>,
        }
        let parts: Parts = serde_json::from_str(text)
            .map_err(|e| format!("its `{METADATA_KEY}` metadata is not a standardizer: {e}"))?;
        Standardizer::from_parts(parts.mean, parts.std)
            .map_err(|e| format!("its `{METADATA_KEY}` metadata: {e}"))
    }
}

/// A summary of how far `data`'s inputs are from unit scale: the feature
/// whose mean or deviation is largest in magnitude, when it is beyond
/// `limit`. `fit` warns with it, since unscaled features (wine's proline
/// runs to 1,680) can keep a network at chance with no other sign.
pub(crate) fn far_from_unit_scale<X: Shape, Y: Shape>(
    data: &Dataset<X, Y>,
    limit: f32,
) -> Option<String> {
    let fitted = Standardizer::fit(data).ok()?;
    let (j, m, s) = fitted
        .mean
        .iter()
        .zip(&fitted.std)
        .enumerate()
        .map(|(j, (&m, &s))| (j, m, s))
        .max_by(|a, b| (a.1.abs().max(a.2)).total_cmp(&b.1.abs().max(b.2)))?;
    (m.abs().max(s) > limit).then(|| {
        format!(
            "the training inputs are far from unit scale (feature {j} has mean {m:.4} and \
             standard deviation {s:.4}); a network trains poorly on such inputs. Fit a \
             data::Standardizer on the training split and apply it to every split"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{ClassIndex, Rank1};

    fn data(x: Vec<f32>) -> Dataset<Rank1<2>, ClassIndex> {
        let n = x.len() / 2;
        Dataset::new(x, vec![0.0; n]).unwrap()
    }

    #[test]
    fn fits_and_applies_like_scikit_learn() {
        // StandardScaler().fit([[1, 10], [2, 10], [3, 10], [6, 10]]):
        // mean_ [3, 10], scale_ [1.8708287, 1] (the constant column keeps 1).
        let train = data(vec![1.0, 10.0, 2.0, 10.0, 3.0, 10.0, 6.0, 10.0]);
        let s = Standardizer::fit(&train).unwrap();
        assert_eq!(s.mean(), &[3.0, 10.0]);
        assert!((s.std()[0] - 1.870_828_7).abs() < 1e-6, "{:?}", s.std());
        assert_eq!(s.std()[1], 1.0);
        let out = s.transform(&train).unwrap();
        let expected = [
            -1.069_045,
            0.0,
            -0.534_522_5,
            0.0,
            0.0,
            0.0,
            1.603_567_5,
            0.0,
        ];
        for (a, b) in out.inputs().iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{:?}", out.inputs());
        }
        // Targets are untouched, the original too.
        assert_eq!(out.targets(), train.targets());
        assert_eq!(train.inputs()[0], 1.0);
    }

    #[test]
    fn accurate_for_large_means() {
        // A one-pass variance in f32 would lose these entirely.
        let train = data(vec![1e6, 0.0, 1e6 + 1.0, 0.0, 1e6 + 2.0, 0.0]);
        let s = Standardizer::fit(&train).unwrap();
        assert!(
            (s.std()[0] - (2.0f32 / 3.0).sqrt()).abs() < 1e-5,
            "{:?}",
            s.std()
        );
    }

    #[test]
    fn bad_parts_and_sizes_are_errors() {
        assert!(Standardizer::fit(&data(vec![])).is_err());
        assert!(Standardizer::from_parts(vec![0.0], vec![0.0]).is_err());
        assert!(Standardizer::from_parts(vec![f32::NAN], vec![1.0]).is_err());
        assert!(Standardizer::from_parts(vec![0.0, 1.0], vec![1.0]).is_err());
        let s = Standardizer::from_parts(vec![0.0; 3], vec![1.0; 3]).unwrap();
        let err = s.apply(&mut data(vec![1.0, 2.0])).unwrap_err().to_string();
        assert!(
            err.contains("fitted on samples of 3 values; this network takes 2"),
            "{err}"
        );
        assert!(s.apply_samples(&mut [0.0; 4]).is_err());
    }

    #[test]
    fn metadata_round_trips_and_refuses_junk() {
        let s = Standardizer::from_parts(vec![0.1, -3.5e7], vec![1e-3, 2.0]).unwrap();
        assert_eq!(Standardizer::from_metadata(&s.to_metadata()).unwrap(), s);
        for junk in [
            "",
            "{}",
            r#"{"mean":[1],"std":[0]}"#,
            r#"{"mean":[1],"std":[1],"x":1}"#,
            r#"{"mean":"a","std":[1]}"#,
        ] {
            assert!(Standardizer::from_metadata(junk).is_err(), "{junk}");
        }
    }

    #[test]
    fn warns_only_far_from_unit_scale() {
        assert!(far_from_unit_scale(&data(vec![0.0, 1.0, 1.0, 0.5]), 10.0).is_none());
        let w = far_from_unit_scale(&data(vec![0.0, 700.0, 1.0, 1500.0]), 10.0).unwrap();
        assert!(w.contains("feature 1 has mean 1100.0000"), "{w}");
    }
}
