//! nalgebra in and out: batches of flat samples from and as nalgebra
//! matrices (one row per sample), and [`Predictor`] on statically sized
//! vectors, so an application's `SVector<f32, 784>` reaches the network
//! with its size checked by the compiler.
//!
//! A batch is stored sample after sample (row-major); nalgebra stores
//! column after column. [`Tensor::as_matrix`] is a strided view, so no
//! copy; building a tensor from a matrix copies it into the batch layout.

use crate::backend::{Cpu, Device};
use crate::layers::Layer;
use crate::predict::Predictor;
use crate::shape::Rank1;
use crate::tensor::Tensor;
use crate::Result;
use nalgebra::{Const, Dim, Dyn, Matrix, MatrixView, RawStorage, SVector};

impl<B: Device, const N: usize> Tensor<B, Rank1<N>> {
    /// A batch with one sample per row of `rows` (any nalgebra matrix of
    /// `N` columns: `OMatrix<f32, Dyn, Const<N>>`, an `SMatrix`, a view).
    /// The column count is checked by the type; zero rows is an error, as
    /// for any empty batch.
    ///
    /// ```
    /// use nalgebra::{Const, Dyn, OMatrix};
    /// use staticnn_runtime::{Cpu, Rank1, Tensor};
    ///
    /// let rows = OMatrix::<f32, Dyn, Const<3>>::from_row_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// let batch = Tensor::<Cpu, Rank1<3>>::from_rows(&Cpu, &rows)?;
    /// assert_eq!(batch.to_vec()?, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// assert_eq!(batch.as_matrix(), rows);
    /// # Ok::<(), staticnn_runtime::Error>(())
    /// ```
    pub fn from_rows<R: Dim, S: RawStorage<f32, R, Const<N>>>(
        dev: &B,
        rows: &Matrix<f32, R, Const<N>, S>,
    ) -> Result<Self> {
        let mut values = Vec::with_capacity(rows.nrows() * N);
        for row in rows.row_iter() {
            values.extend(row.iter());
        }
        Tensor::from_vec(dev, values)
    }

    /// A batch of the samples in `vectors`.
    pub fn from_vectors(dev: &B, vectors: &[SVector<f32, N>]) -> Result<Self> {
        let values: Vec<f32> = vectors.iter().flat_map(|v| v.iter().copied()).collect();
        Tensor::from_vec(dev, values)
    }
}

impl<const N: usize> Tensor<Cpu, Rank1<N>> {
    /// The batch as a `batch x N` nalgebra matrix, one sample per row,
    /// without copying (a view with the batch's strides).
    pub fn as_matrix(&self) -> MatrixView<'_, f32, Dyn, Const<N>, Dyn, Dyn> {
        MatrixView::from_slice_with_strides_generic(
            self.as_slice(),
            Dyn(self.batch()),
            Const::<N>,
            Dyn(N),
            Dyn(1),
        )
    }

    /// Sample `i` as a vector (copied), or `None` past the end.
    pub fn vector(&self, i: usize) -> Option<SVector<f32, N>> {
        (i < self.batch()).then(|| SVector::from_column_slice(self.sample(i)))
    }
}

impl<M, const I: usize, const O: usize> Predictor<'_, M>
where
    M: Layer<Cpu, Input = Rank1<I>, Output = Rank1<O>>,
{
    /// [`predict`](Predictor::predict) from and to statically sized
    /// vectors: a vector of the wrong size does not compile.
    ///
    /// ```
    /// use nalgebra::SVector;
    /// use staticnn_runtime::layers::Dense;
    /// use staticnn_runtime::{Cpu, Init, Predictor, Rng};
    ///
    /// let layer = Dense::<Cpu, 4, 2>::init(&Cpu, &mut Rng::new(0), Init::GlorotUniform, true)?;
    /// let mut predictor = Predictor::new(&layer)?;
    /// let y: SVector<f32, 2> = predictor.predict_vector(&SVector::from([0.1, 0.2, 0.3, 0.4]))?;
    /// assert_eq!(y.as_slice(), predictor.predict(&[0.1, 0.2, 0.3, 0.4])?);
    /// # Ok::<(), staticnn_runtime::Error>(())
    /// ```
    pub fn predict_vector(&mut self, input: &SVector<f32, I>) -> Result<SVector<f32, O>> {
        Ok(SVector::from_column_slice(self.predict(input.as_slice())?))
    }

    /// The predicted class of a statically sized input vector.
    pub fn predict_vector_class(&mut self, input: &SVector<f32, I>) -> Result<usize> {
        self.predict_class(input.as_slice())
    }
}
