//! Parameters: the learnable tensors of a layer, with their PyTorch shapes.

use crate::backend::Device;
use crate::{Error, Result};
use std::fmt;

/// One learnable tensor (a weight matrix or a bias vector) on device `B`.
///
/// `dims` is the PyTorch shape (`[out, in]` for a Dense weight), which is
/// what save/load writes and checks.
///
/// A parameter is either trainable (it has a gradient and optimisers update
/// it) or a buffer: state that is saved and loaded with the weights but
/// learned some other way, like BatchNorm's running statistics (PyTorch's
/// `register_buffer`).
pub struct Param<B: Device> {
    dev: B,
    buf: B::Buf,
    dims: &'static [usize],
    trainable: bool,
    non_negative: bool,
}

impl<B: Device> Param<B> {
    /// A parameter holding `values`; its length must match `dims`.
    pub fn from_slice(dev: &B, dims: &'static [usize], values: &[f32]) -> Result<Self> {
        let len = dims.iter().product::<usize>();
        if values.len() != len {
            return Err(Error::ParamLength {
                shape: dims.to_vec(),
                expected: len,
                got: values.len(),
            });
        }
        Ok(Param {
            dev: dev.clone(),
            buf: dev.upload(values)?,
            dims,
            trainable: true,
            non_negative: false,
        })
    }

    /// A parameter of zeros.
    pub fn zeros(dev: &B, dims: &'static [usize]) -> Result<Self> {
        Ok(Param {
            dev: dev.clone(),
            buf: dev.zeros(dims.iter().product())?,
            dims,
            trainable: true,
            non_negative: false,
        })
    }

    /// A zeroed parameter of the same shape on the same device (gradients,
    /// optimiser state).
    pub fn zeros_like(&self) -> Result<Self> {
        Self::zeros(&self.dev, self.dims)
    }

    /// The same parameter marked as a buffer: saved and loaded, but with no
    /// gradient and never touched by an optimiser.
    pub fn into_buffer(mut self) -> Self {
        self.trainable = false;
        self
    }

    /// The same parameter marked as holding no negative values (a
    /// variance): loading a file with a negative value in it is refused,
    /// as a NaN is, instead of turning every output into NaN later.
    pub fn non_negative(mut self) -> Self {
        self.non_negative = true;
        self
    }

    /// Whether the parameter may hold negative values.
    pub fn allows_negative(&self) -> bool {
        !self.non_negative
    }

    /// Whether the parameter has a gradient (false for buffers such as
    /// running statistics).
    pub fn is_trainable(&self) -> bool {
        self.trainable
    }

    /// The PyTorch shape.
    pub fn dims(&self) -> &'static [usize] {
        self.dims
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        B::len(&self.buf)
    }

    /// True for a parameter with no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The device holding the values.
    pub fn device(&self) -> &B {
        &self.dev
    }

    /// The values' buffer.
    pub fn buf(&self) -> &B::Buf {
        &self.buf
    }

    /// The values' buffer, mutably.
    pub fn buf_mut(&mut self) -> &mut B::Buf {
        &mut self.buf
    }

    /// Copy the values to the host.
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        Ok(self.dev.read(&self.buf)?.into_owned())
    }

    /// Overwrite the values; `values` must have exactly [`len`](Self::len)
    /// entries.
    pub fn set(&mut self, values: &[f32]) -> Result<()> {
        if values.len() != self.len() {
            return Err(Error::ParamLength {
                shape: self.dims.to_vec(),
                expected: self.len(),
                got: values.len(),
            });
        }
        self.dev.write(&mut self.buf, values)
    }

    /// Copy another parameter's values (same shape) into this one.
    pub fn copy_from(&mut self, other: &Param<B>) -> Result<()> {
        if other.dims != self.dims {
            return Err(Error::ParamLength {
                shape: self.dims.to_vec(),
                expected: self.len(),
                got: other.len(),
            });
        }
        self.dev.copy(&other.buf, &mut self.buf)
    }

    /// A copy on another device.
    pub fn to_device<D: Device>(&self, dev: &D) -> Result<Param<D>> {
        let mut p = Param::from_slice(dev, self.dims, &self.dev.read(&self.buf)?)?;
        p.trainable = self.trainable;
        p.non_negative = self.non_negative;
        Ok(p)
    }

    /// A copy on the same device.
    pub fn try_clone(&self) -> Result<Self> {
        let mut p = self.zeros_like()?;
        self.dev.copy(&self.buf, &mut p.buf)?;
        p.trainable = self.trainable;
        p.non_negative = self.non_negative;
        Ok(p)
    }
}

impl<B: Device> fmt::Debug for Param<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Param")
            .field("device", &B::NAME)
            .field("dims", &self.dims)
            .field("trainable", &self.trainable)
            .field("non_negative", &self.non_negative)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    #[test]
    fn lengths_are_checked() {
        let err = Param::from_slice(&Cpu, &[2, 3], &[0.0; 5])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("shape [2, 3] holds 6 values, but 5 were given"),
            "{err}"
        );
        let mut p = Param::zeros(&Cpu, &[2]).unwrap();
        assert!(p.set(&[1.0, 2.0, 3.0]).is_err());
        assert_eq!(p.to_vec().unwrap(), vec![0.0, 0.0]);
        let q = Param::from_slice(&Cpu, &[3], &[1.0, 2.0, 3.0]).unwrap();
        assert!(p.copy_from(&q).is_err());
    }
}
