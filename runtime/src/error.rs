//! The one error type of the runtime.
//!
//! Every variant says what was wrong and what was expected, so that a user
//! who passes a bad file or a mis-sized buffer can fix it from the message
//! alone.

use std::path::PathBuf;

/// Everything that can go wrong at run time in staticnn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A buffer handed to a tensor constructor does not hold whole samples.
    #[error("a tensor of samples shaped {shape:?} ({sample} values each) cannot be built from {len} values: expected a non-zero multiple of {sample}")]
    BadLength {
        shape: &'static [usize],
        sample: usize,
        len: usize,
    },

    /// One sample handed to a [`Predictor`](crate::Predictor) has the
    /// wrong number of values.
    #[error("an input sample of shape {shape:?} has {expected} values, but {got} were given")]
    SampleLength {
        shape: &'static [usize],
        expected: usize,
        got: usize,
    },

    /// Two tensors that must have the same batch size do not.
    #[error("batch size mismatch in {op}: {left} vs {right}")]
    BatchMismatch {
        op: &'static str,
        left: usize,
        right: usize,
    },

    /// A parameter was given values of the wrong length.
    #[error("a parameter of shape {shape:?} holds {expected} values, but {got} were given")]
    ParamLength {
        shape: Vec<usize>,
        expected: usize,
        got: usize,
    },

    /// A layer that has no gradient was asked for one.
    #[error("{layer} has no gradient and is for inference only; {hint}")]
    NotDifferentiable {
        layer: &'static str,
        hint: &'static str,
    },

    /// A class label is outside `0..classes`.
    #[error("label {label} is out of range: the network has {classes} outputs, so labels must be in 0..{classes}")]
    LabelOutOfRange { label: f32, classes: usize },

    /// A configuration value is unusable (batch size of zero, a fraction
    /// outside `[0, 1]`, ...).
    #[error("invalid {what}: {why}")]
    InvalidConfig { what: &'static str, why: String },

    /// A safetensors file lacks a tensor that the network needs.
    #[error(
        "{path}: tensor `{name}` (shape {shape:?}) is missing from the file; it holds: {found}"
    )]
    MissingTensor {
        path: String,
        name: String,
        shape: Vec<usize>,
        found: String,
    },

    /// A safetensors file has tensors that the network does not.
    #[error("{path}: the file has tensors the network does not: {names}; the network expects: {expected}")]
    UnexpectedTensors {
        path: String,
        names: String,
        expected: String,
    },

    /// A tensor in a file has the wrong shape.
    #[error("{path}: tensor `{name}` has shape {got:?} but the network expects {expected:?}")]
    TensorShape {
        path: String,
        name: String,
        got: Vec<usize>,
        expected: Vec<usize>,
    },

    /// A tensor in a file is not f32.
    #[error("{path}: tensor `{name}` has dtype {got} but staticnn needs F32; convert it before saving (in PyTorch: `t.float()`)")]
    TensorDtype {
        path: String,
        name: String,
        got: String,
    },

    /// A tensor in a file holds NaN or an infinity.
    #[error(
        "{path}: tensor `{name}` holds {value} at index {index}; weights must be finite numbers"
    )]
    TensorNotFinite {
        path: String,
        name: String,
        index: usize,
        value: f32,
    },

    /// A tensor that must hold no negative values (a running variance)
    /// holds one.
    #[error(
        "{path}: tensor `{name}` holds {value} at index {index}; it is a variance and must not be negative"
    )]
    TensorNegative {
        path: String,
        name: String,
        index: usize,
        value: f32,
    },

    /// A weights file could not be parsed at all.
    #[error("{path}: not a valid safetensors file: {why}")]
    BadWeights { path: String, why: String },

    /// A data file (IDX, CSV) is malformed.
    #[error("{path}: {why}")]
    BadData { path: String, why: String },

    /// An I/O error, with the file it happened on.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Training produced a loss or a parameter that is not a finite
    /// number.
    #[error("{}; lower the learning rate or check the data for huge values", match tensor {
        None => format!("the training loss became {loss} in epoch {epoch}"),
        Some(name) => format!("parameter `{name}` holds non-finite values after epoch {epoch} (the loss, {loss}, hid it)"),
    })]
    Diverged {
        epoch: usize,
        loss: f32,
        /// The first parameter that is not finite, when the loss still is.
        tensor: Option<String>,
    },

    /// The HTTP server could not start or stopped abnormally.
    #[error("serve: {why}")]
    Serve { why: String },

    /// A failure reported by a compute backend (a CUDA driver error, say).
    #[error("{backend} backend: {why}")]
    Backend { backend: &'static str, why: String },
}

/// `Result` with staticnn's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn config(what: &'static str, why: impl Into<String>) -> Self {
        Error::InvalidConfig {
            what,
            why: why.into(),
        }
    }
}
