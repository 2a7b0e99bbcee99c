//! Batches of statically shaped samples.

use crate::backend::{Cpu, Device};
use crate::shape::Shape;
use crate::{Error, Result};
use std::fmt;
use std::marker::PhantomData;

/// A batch of samples, each of shape `S`, on device `B`.
///
/// The sample shape is part of the type, so passing a batch of the wrong
/// shape to a network's `forward` is a compile error; only the batch size is
/// decided at run time. Values are stored row-major, sample after sample.
///
/// ```
/// use staticnn_runtime::{Cpu, Rank1, Tensor};
/// let x = Tensor::<Cpu, Rank1<3>>::from_vec(&Cpu, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// assert_eq!(x.batch(), 2);
/// assert_eq!(x.sample(1), &[4.0, 5.0, 6.0]);
/// # Ok::<(), staticnn_runtime::Error>(())
/// ```
// `repr(C)`: tensors of two shapes then have one layout (the shape is a
// zero-sized marker), which `as_shape` relies on.
#[repr(C)]
pub struct Tensor<B: Device, S: Shape> {
    dev: B,
    buf: B::Buf,
    batch: usize,
    _shape: PhantomData<S>,
}

impl<B: Device, S: Shape> Tensor<B, S> {
    /// This tensor seen as shape `T`, which must have the same dimensions:
    /// for code that `network!` generates around a network declared
    /// elsewhere, whose shapes the macro cannot see. A const assertion
    /// there checks them at compile time, so the declared shapes reach no
    /// other type and a wrong one is one error; this checks them again.
    #[doc(hidden)]
    pub fn as_shape<T: Shape>(&self) -> Result<&Tensor<B, T>> {
        if !crate::shape::same_dims(S::DIMS, T::DIMS) {
            return Err(Error::config(
                "network used as a layer",
                format!(
                    "gives or takes samples of shape {:?}, not {:?}",
                    S::DIMS,
                    T::DIMS
                ),
            ));
        }
        // SAFETY: `Tensor` is `repr(C)` and `S` only appears in the
        // zero-sized `PhantomData`, so `Tensor<B, S>` and `Tensor<B, T>`
        // have the same layout; equal dimensions keep the buffer's length
        // a whole number of samples of `T`.
        Ok(unsafe { &*(self as *const Tensor<B, S>).cast::<Tensor<B, T>>() })
    }

    fn check(len: usize) -> Result<usize> {
        if len == 0 || !len.is_multiple_of(S::SIZE) {
            return Err(Error::BadLength {
                shape: S::DIMS,
                sample: S::SIZE,
                len,
            });
        }
        Ok(len / S::SIZE)
    }

    /// A batch from a vector holding whole samples back to back. Fails if
    /// the length is not a non-zero multiple of the sample size.
    pub fn from_vec(dev: &B, values: Vec<f32>) -> Result<Self> {
        let batch = Self::check(values.len())?;
        Ok(Tensor {
            dev: dev.clone(),
            buf: dev.upload_vec(values)?,
            batch,
            _shape: PhantomData,
        })
    }

    /// Like [`from_vec`](Self::from_vec), copying from a slice.
    pub fn from_slice(dev: &B, values: &[f32]) -> Result<Self> {
        let batch = Self::check(values.len())?;
        Ok(Tensor {
            dev: dev.clone(),
            buf: dev.upload(values)?,
            batch,
            _shape: PhantomData,
        })
    }

    /// A batch of `batch` samples, all zeros.
    pub fn zeros(dev: &B, batch: usize) -> Result<Self> {
        Self::check(batch * S::SIZE)?;
        Ok(Tensor {
            dev: dev.clone(),
            buf: dev.zeros(batch * S::SIZE)?,
            batch,
            _shape: PhantomData,
        })
    }

    /// Wrap a device buffer; its length must be `batch * S::SIZE`.
    pub fn from_buf(dev: &B, buf: B::Buf) -> Result<Self> {
        let batch = Self::check(B::len(&buf))?;
        Ok(Tensor {
            dev: dev.clone(),
            buf,
            batch,
            _shape: PhantomData,
        })
    }

    /// A zeroed batch of the same size on the same device, of any shape
    /// (for outputs and gradients).
    pub fn zeros_like_batch<T: Shape>(&self) -> Result<Tensor<B, T>> {
        Tensor::zeros(&self.dev, self.batch)
    }

    /// Change the batch size in place, reusing the buffer's memory where
    /// the device can. The values are unspecified afterwards.
    pub fn set_batch(&mut self, batch: usize) -> Result<()> {
        if batch != self.batch {
            Self::check(batch * S::SIZE)?;
            self.dev.resize(&mut self.buf, batch * S::SIZE)?;
            self.batch = batch;
        }
        Ok(())
    }

    /// A tensor of `batch` samples in `slot`, reusing the tensor already
    /// there (layers keep their outputs and gradients in such slots, so a
    /// training step after the first allocates nothing).
    pub fn reuse<'a>(slot: &'a mut Option<Self>, dev: &B, batch: usize) -> Result<&'a mut Self> {
        let t = match slot.take() {
            Some(mut t) => {
                t.set_batch(batch)?;
                t
            }
            None => Tensor::zeros(dev, batch)?,
        };
        Ok(slot.insert(t))
    }

    /// Number of samples.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Number of values (`batch * S::SIZE`).
    pub fn len(&self) -> usize {
        self.batch * S::SIZE
    }

    /// Always false: a tensor holds at least one sample.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The device the values live on.
    pub fn device(&self) -> &B {
        &self.dev
    }

    /// The underlying buffer.
    pub fn buf(&self) -> &B::Buf {
        &self.buf
    }

    /// The underlying buffer, mutably.
    pub fn buf_mut(&mut self) -> &mut B::Buf {
        &mut self.buf
    }

    /// Unwrap into the device buffer.
    pub fn into_buf(self) -> B::Buf {
        self.buf
    }

    /// Copy the values to the host.
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        Ok(self.dev.read(&self.buf)?.into_owned())
    }

    /// Reinterpret the samples as another shape of the same size (what
    /// Flatten does). The sizes are checked when the program is compiled.
    pub fn reshape<T: Shape>(self) -> Tensor<B, T> {
        const { assert!(S::SIZE == T::SIZE, "reshape must keep the sample size") };
        Tensor {
            dev: self.dev,
            buf: self.buf,
            batch: self.batch,
            _shape: PhantomData,
        }
    }

    /// A copy on another device.
    pub fn to_device<D: Device>(&self, dev: &D) -> Result<Tensor<D, S>> {
        let host = self.dev.read(&self.buf)?;
        Tensor::from_slice(dev, &host)
    }

    /// A copy on the same device.
    pub fn try_clone(&self) -> Result<Self> {
        let mut buf = self.dev.zeros(self.len())?;
        self.dev.copy(&self.buf, &mut buf)?;
        Ok(Tensor {
            dev: self.dev.clone(),
            buf,
            batch: self.batch,
            _shape: PhantomData,
        })
    }
}

impl<S: Shape> Tensor<Cpu, S> {
    /// The values, in place (CPU only).
    pub fn as_slice(&self) -> &[f32] {
        &self.buf
    }

    /// The values, in place and mutable (CPU only).
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.buf
    }

    /// The values of sample `i` (panics if `i >= batch()`, like slice
    /// indexing).
    pub fn sample(&self, i: usize) -> &[f32] {
        &self.buf[i * S::SIZE..(i + 1) * S::SIZE]
    }
}

impl<S: Shape> Clone for Tensor<Cpu, S> {
    fn clone(&self) -> Self {
        Tensor {
            dev: Cpu,
            buf: self.buf.clone(),
            batch: self.batch,
            _shape: PhantomData,
        }
    }
}

impl<B: Device, S: Shape> fmt::Debug for Tensor<B, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tensor")
            .field("device", &B::NAME)
            .field("batch", &self.batch)
            .field("shape", &S::DIMS)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{Rank1, Rank3};

    #[test]
    fn length_must_be_whole_samples() {
        let err = Tensor::<Cpu, Rank1<3>>::from_vec(&Cpu, vec![0.0; 4]).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a non-zero multiple of 3"),
            "{err}"
        );
        assert!(Tensor::<Cpu, Rank1<3>>::from_vec(&Cpu, vec![]).is_err());
        assert!(Tensor::<Cpu, Rank1<3>>::zeros(&Cpu, 0).is_err());
    }

    #[test]
    fn reshape_keeps_values() {
        let x = Tensor::<Cpu, Rank3<1, 2, 2>>::from_vec(&Cpu, (0..8).map(|v| v as f32).collect())
            .unwrap();
        let y: Tensor<Cpu, Rank1<4>> = x.reshape();
        assert_eq!(y.batch(), 2);
        assert_eq!(y.sample(1), &[4.0, 5.0, 6.0, 7.0]);
    }
}
