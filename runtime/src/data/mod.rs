//! Datasets held in memory, mini-batches, and readers for MNIST IDX files
//! and CSV.

pub mod csv;
pub mod mnist;
mod source;
pub(crate) mod standardize;

pub use source::Limits;
pub use standardize::Standardizer;

use crate::backend::Device;
use crate::rng::Rng;
use crate::shape::{ClassIndex, Shape};
use crate::tensor::Tensor;
use crate::{Error, Result};
use std::marker::PhantomData;

/// Samples of shape `X` with targets of shape `Y`, in host memory.
///
/// For classification `Y` is [`ClassIndex`]: one class
/// number per sample.
#[derive(Debug, Clone)]
pub struct Dataset<X: Shape, Y: Shape> {
    x: Vec<f32>,
    y: Vec<f32>,
    _shapes: PhantomData<(X, Y)>,
}

impl<X: Shape, Y: Shape> Dataset<X, Y> {
    /// A dataset from inputs and targets stored sample after sample. The
    /// two must hold the same number of whole samples, and every value must
    /// be finite: one NaN pixel would otherwise train silently into NaN
    /// weights (ReLU's `max` turns it into 0, so the loss stays finite).
    pub fn new(x: Vec<f32>, y: Vec<f32>) -> Result<Self> {
        for (values, what, size) in [(&x, "input", X::SIZE), (&y, "target", Y::SIZE.max(1))] {
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::config(
                    "dataset",
                    format!(
                        "{what} value {i} (sample {}, value {} of it) is {}; every value must be a finite number",
                        i / size,
                        i % size,
                        values[i]
                    ),
                ));
            }
        }
        if !x.len().is_multiple_of(X::SIZE)
            || !y.len().is_multiple_of(Y::SIZE.max(1))
            || x.len() / X::SIZE != y.len() / Y::SIZE.max(1)
        {
            return Err(Error::config(
                "dataset",
                format!(
                    "{} input values and {} target values do not make the same number of samples \
                     of {} inputs and {} targets each",
                    x.len(),
                    y.len(),
                    X::SIZE,
                    Y::SIZE
                ),
            ));
        }
        Ok(Dataset {
            x,
            y,
            _shapes: PhantomData,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.len() / X::SIZE
    }

    /// Whether the dataset holds no samples.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// All inputs, sample after sample.
    pub fn inputs(&self) -> &[f32] {
        &self.x
    }

    /// All targets, sample after sample.
    pub fn targets(&self) -> &[f32] {
        &self.y
    }

    /// Input and target of sample `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<(&[f32], &[f32])> {
        (i < self.len()).then(|| {
            (
                &self.x[i * X::SIZE..(i + 1) * X::SIZE],
                &self.y[i * Y::SIZE..(i + 1) * Y::SIZE],
            )
        })
    }

    /// The same samples seen as another shape of the same size: a flat
    /// dataset of 784 values per sample becomes 1x28x28 images for a
    /// convolutional network with `.reshape::<Rank3<1, 28, 28>>()`. The
    /// sizes are checked when the program is compiled.
    pub fn reshape<T: Shape>(self) -> Dataset<T, Y> {
        const { assert!(X::SIZE == T::SIZE, "reshape must keep the sample size") };
        Dataset {
            x: self.x,
            y: self.y,
            _shapes: PhantomData,
        }
    }

    /// The samples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset<X, Y> {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        self.gather(indices, &mut x, &mut y);
        Dataset {
            x,
            y,
            _shapes: PhantomData,
        }
    }

    /// Copy the inputs and targets of the samples at `indices` into `x` and
    /// `y` (cleared first). Reusing the same vectors for every batch keeps
    /// their capacity, so batching allocates nothing after the first batch.
    pub fn gather(&self, indices: &[usize], x: &mut Vec<f32>, y: &mut Vec<f32>) {
        x.clear();
        y.clear();
        for &i in indices {
            x.extend_from_slice(&self.x[i * X::SIZE..(i + 1) * X::SIZE]);
            y.extend_from_slice(&self.y[i * Y::SIZE..(i + 1) * Y::SIZE]);
        }
    }

    /// Split into `(first, rest)` at sample `at`, keeping the order (use for
    /// a fixed held-out set).
    pub fn split_at(&self, at: usize) -> (Dataset<X, Y>, Dataset<X, Y>) {
        let at = at.min(self.len());
        let (first, rest): (Vec<usize>, Vec<usize>) = (0..self.len()).partition(|&i| i < at);
        (self.select(&first), self.select(&rest))
    }

    /// Shuffle with `seed`, then split off `fraction` of the samples as a
    /// validation set: returns `(train, validation)`. The held-out count is
    /// rounded up, as scikit-learn's `train_test_split(test_size=fraction)`
    /// rounds it (0.25 of 150 samples holds out 38).
    pub fn split(&self, fraction: f32, seed: u64) -> Result<(Dataset<X, Y>, Dataset<X, Y>)> {
        let n_val = held_out(fraction, self.len())?;
        let mut order: Vec<usize> = (0..self.len()).collect();
        Rng::new(seed).shuffle(&mut order);
        let (val, train) = order.split_at(n_val);
        Ok((self.select(train), self.select(val)))
    }

    /// Mini-batches of at most `batch_size` samples, in order, or shuffled
    /// by `rng` when one is given. The last batch may be smaller.
    pub fn batches(&self, batch_size: usize, rng: Option<&mut Rng>) -> Batches<'_, X, Y> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        if let Some(rng) = rng {
            rng.shuffle(&mut order);
        }
        Batches {
            data: self,
            order,
            next: 0,
            batch_size: batch_size.max(1),
        }
    }

    /// The whole dataset as one batch of tensors.
    pub fn to_tensors<B: Device>(&self, dev: &B) -> Result<(Tensor<B, X>, Tensor<B, Y>)> {
        Ok((
            Tensor::from_slice(dev, &self.x)?,
            Tensor::from_slice(dev, &self.y)?,
        ))
    }
}

/// How many of `n` samples a validation `fraction` holds out: rounded up,
/// as scikit-learn rounds `test_size`. The product is taken on the decimal
/// the user wrote (0.2, not the f32 nearest it, 0.200000003), so that 0.2
/// of 150 is 30 and not 31.
fn held_out(fraction: f32, n: usize) -> Result<usize> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(Error::config(
            "validation fraction",
            format!("{fraction} is not in [0, 1)"),
        ));
    }
    let decimal: f64 = fraction.to_string().parse().unwrap_or(f64::from(fraction));
    Ok(((decimal * n as f64).ceil() as usize).min(n))
}

impl<X: Shape> Dataset<X, ClassIndex> {
    /// [`split`](Dataset::split), stratified: each class is held out in the
    /// proportion it has in the whole, as scikit-learn's
    /// `train_test_split(stratify=y)` does. The held-out count is the same
    /// as `split`'s; classes whose exact share is fractional get the
    /// leftover samples in order of the largest remainder.
    ///
    /// Refuses (as scikit-learn does) a class with a single sample, and a
    /// split whose training or validation part would have fewer samples
    /// than there are classes.
    pub fn split_stratified(
        &self,
        fraction: f32,
        seed: u64,
    ) -> Result<(Dataset<X, ClassIndex>, Dataset<X, ClassIndex>)> {
        let n = self.len();
        let n_val = held_out(fraction, n)?;
        let mut by_class: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
        for (i, &label) in self.y.iter().enumerate() {
            if label < 0.0 || label.fract() != 0.0 || label > u32::MAX as f32 {
                return Err(Error::config(
                    "stratified split",
                    format!("sample {i} has the label {label}, not a class number"),
                ));
            }
            by_class.entry(label as u32).or_default().push(i);
        }
        if let Some((class, _)) = by_class.iter().find(|(_, members)| members.len() < 2) {
            return Err(Error::config(
                "stratified split",
                format!("class {class} has a single sample; every class needs at least 2"),
            ));
        }
        let classes = by_class.len();
        if n_val < classes || n - n_val < classes {
            return Err(Error::config(
                "stratified split",
                format!(
                    "holding out {n_val} of {n} samples leaves a part with fewer samples than \
                     the {classes} classes"
                ),
            ));
        }
        // Each class's exact share of the held-out count, floored, then the
        // leftover samples to the largest remainders (ties to the smaller
        // class number).
        let mut shares: Vec<(usize, f64)> = by_class
            .values()
            .map(|members| {
                let exact = members.len() as f64 * n_val as f64 / n as f64;
                (exact.floor() as usize, exact - exact.floor())
            })
            .collect();
        let given: usize = shares.iter().map(|s| s.0).sum();
        let mut by_remainder: Vec<usize> = (0..classes).collect();
        by_remainder.sort_by(|&a, &b| shares[b].1.total_cmp(&shares[a].1));
        for &c in by_remainder.iter().take(n_val - given) {
            shares[c].0 += 1;
        }
        let mut rng = Rng::new(seed);
        let (mut train, mut val) = (Vec::with_capacity(n - n_val), Vec::with_capacity(n_val));
        for (members, (take, _)) in by_class.values().zip(&shares) {
            let mut members = members.clone();
            rng.shuffle(&mut members);
            val.extend_from_slice(&members[..*take]);
            train.extend_from_slice(&members[*take..]);
        }
        // Mixed, so that neither part comes sorted by class.
        rng.shuffle(&mut train);
        rng.shuffle(&mut val);
        Ok((self.select(&train), self.select(&val)))
    }
}

/// One mini-batch in host memory.
#[derive(Debug, Clone)]
pub struct Batch<X: Shape, Y: Shape> {
    /// The inputs, sample after sample.
    pub x: Vec<f32>,
    /// The targets, sample after sample.
    pub y: Vec<f32>,
    _shapes: PhantomData<(X, Y)>,
}

impl<X: Shape, Y: Shape> Batch<X, Y> {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.len() / X::SIZE
    }

    /// Whether the batch holds no samples.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Move the batch onto a device.
    pub fn to_device<B: Device>(self, dev: &B) -> Result<(Tensor<B, X>, Tensor<B, Y>)> {
        Ok((
            Tensor::from_vec(dev, self.x)?,
            Tensor::from_vec(dev, self.y)?,
        ))
    }
}

/// Iterator over mini-batches; see [`Dataset::batches`].
#[derive(Debug)]
pub struct Batches<'a, X: Shape, Y: Shape> {
    data: &'a Dataset<X, Y>,
    order: Vec<usize>,
    next: usize,
    batch_size: usize,
}

impl<X: Shape, Y: Shape> Iterator for Batches<'_, X, Y> {
    type Item = Batch<X, Y>;

    fn next(&mut self) -> Option<Batch<X, Y>> {
        if self.next >= self.order.len() {
            return None;
        }
        let end = (self.next + self.batch_size).min(self.order.len());
        let idx = &self.order[self.next..end];
        self.next = end;
        let part = self.data.select(idx);
        Some(Batch {
            x: part.x,
            y: part.y,
            _shapes: PhantomData,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.order.len() - self.next).div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl<X: Shape, Y: Shape> ExactSizeIterator for Batches<'_, X, Y> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{ClassIndex, Rank1};

    fn toy(n: usize) -> Dataset<Rank1<2>, ClassIndex> {
        let x = (0..n * 2).map(|v| v as f32).collect();
        let y = (0..n).map(|v| (v % 3) as f32).collect();
        Dataset::new(x, y).unwrap()
    }

    #[test]
    fn non_finite_values_are_an_error() {
        let mut x = vec![0.5; 6];
        x[3] = f32::NAN;
        let err = Dataset::<Rank1<2>, ClassIndex>::new(x, vec![0.0; 3]).unwrap_err();
        assert!(
            err.to_string()
                .contains("input value 3 (sample 1, value 1 of it) is NaN"),
            "{err}"
        );
        let err = Dataset::<Rank1<2>, ClassIndex>::new(vec![0.0; 6], vec![0.0, f32::INFINITY, 1.0])
            .unwrap_err();
        assert!(
            err.to_string().contains("target value 1 (sample 1"),
            "{err}"
        );
    }

    #[test]
    fn reshape_keeps_samples_and_targets() {
        let flat = toy(3);
        let images = flat.clone().reshape::<crate::shape::Rank3<1, 1, 2>>();
        assert_eq!(images.len(), 3);
        assert_eq!(images.inputs(), flat.inputs());
        assert_eq!(images.targets(), flat.targets());
    }

    #[test]
    fn mismatched_lengths_are_an_error() {
        assert!(Dataset::<Rank1<2>, ClassIndex>::new(vec![0.0; 6], vec![0.0; 2]).is_err());
        assert!(Dataset::<Rank1<2>, ClassIndex>::new(vec![0.0; 5], vec![0.0; 2]).is_err());
    }

    /// The first input value of every sample of both parts, sorted: each
    /// sample of a split appears once.
    fn first_values<Y: Shape>(a: &Dataset<Rank1<2>, Y>, b: &Dataset<Rank1<2>, Y>) -> Vec<f32> {
        let mut firsts: Vec<f32> = a
            .inputs()
            .iter()
            .chain(b.inputs())
            .step_by(2)
            .copied()
            .collect();
        firsts.sort_by(f32::total_cmp);
        firsts
    }

    #[test]
    fn split_partitions_the_samples() {
        let d = toy(10);
        let (train, val) = d.split(0.3, 1).unwrap();
        assert_eq!((train.len(), val.len()), (7, 3));
        assert_eq!(
            first_values(&train, &val),
            (0..10).map(|v| (v * 2) as f32).collect::<Vec<_>>()
        );
    }

    #[test]
    fn held_out_counts_round_up_as_scikit_learn() {
        // train_test_split(range(n), test_size=f): len(test) for each.
        for (f, n, expected) in [
            (0.2, 150, 30),
            (0.25, 150, 38),
            (0.3, 178, 54),
            (0.2, 569, 114),
            (0.1, 7, 1),
            (0.0, 10, 0),
        ] {
            assert_eq!(held_out(f, n).unwrap(), expected, "{f} of {n}");
        }
        assert!(held_out(1.0, 10).is_err());
        assert!(held_out(f32::NAN, 10).is_err());
    }

    #[test]
    fn stratified_split_keeps_class_proportions() {
        // 3 classes of 50, 30 and 20: a 0.2 split holds out 10, 6 and 4.
        let labels: Vec<f32> = [(0.0, 50), (1.0, 30), (2.0, 20)]
            .iter()
            .flat_map(|&(c, k)| std::iter::repeat_n(c, k))
            .collect();
        let x: Vec<f32> = (0..200).map(|v| v as f32).collect();
        let d = Dataset::<Rank1<2>, ClassIndex>::new(x, labels).unwrap();
        let (train, val) = d.split_stratified(0.2, 7).unwrap();
        let count = |s: &Dataset<Rank1<2>, ClassIndex>, c: f32| {
            s.targets().iter().filter(|&&t| t == c).count()
        };
        assert_eq!(
            (count(&val, 0.0), count(&val, 1.0), count(&val, 2.0)),
            (10, 6, 4)
        );
        assert_eq!((train.len(), val.len()), (80, 20));
        // Every sample once, with its own label.
        assert_eq!(
            first_values(&train, &val),
            (0..100).map(|v| (v * 2) as f32).collect::<Vec<_>>()
        );
        for part in [&train, &val] {
            for i in 0..part.len() {
                let (x, y) = part.get(i).unwrap();
                let original = (x[0] / 2.0) as usize;
                assert_eq!(y[0], d.targets()[original]);
            }
        }
        // Remainders: 7 of each of 3 classes at 0.25 holds out ceil(5.25) = 6, 2 a class.
        let d = Dataset::<Rank1<2>, ClassIndex>::new(
            vec![0.0; 42],
            (0..21).map(|v| (v % 3) as f32).collect(),
        )
        .unwrap();
        let (_, val) = d.split_stratified(0.25, 0).unwrap();
        assert_eq!(
            (count(&val, 0.0), count(&val, 1.0), count(&val, 2.0)),
            (2, 2, 2)
        );
    }

    #[test]
    fn stratified_split_refuses_what_scikit_learn_refuses() {
        let d =
            Dataset::<Rank1<2>, ClassIndex>::new(vec![0.0; 8], vec![0.0, 0.0, 0.0, 1.0]).unwrap();
        let err = d.split_stratified(0.5, 0).unwrap_err().to_string();
        assert!(err.contains("class 1 has a single sample"), "{err}");
        let d =
            Dataset::<Rank1<2>, ClassIndex>::new(vec![0.0; 12], vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0])
                .unwrap();
        let err = d.split_stratified(0.1, 0).unwrap_err().to_string();
        assert!(err.contains("fewer samples than the 3 classes"), "{err}");
    }

    #[test]
    fn batches_cover_everything_once() {
        let d = toy(10);
        let mut rng = Rng::new(3);
        let batches: Vec<_> = d.batches(4, Some(&mut rng)).collect();
        assert_eq!(
            batches.iter().map(|b| b.len()).collect::<Vec<_>>(),
            vec![4, 4, 2]
        );
        let mut seen: Vec<f32> = batches
            .iter()
            .flat_map(|b| b.x.iter().step_by(2).copied())
            .collect();
        seen.sort_by(f32::total_cmp);
        assert_eq!(seen.len(), 10);
        seen.dedup();
        assert_eq!(seen.len(), 10);
    }
}
