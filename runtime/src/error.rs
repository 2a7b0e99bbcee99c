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
        /// The shape of one sample or parameter.
        shape: &'static [usize],
        /// Values in one sample.
        sample: usize,
        /// Values given.
        len: usize,
    },

    /// One sample handed to a [`Predictor`](crate::Predictor) has the
    /// wrong number of values.
    #[error("an input sample of shape {shape:?} has {expected} values, but {got} were given")]
    SampleLength {
        /// The shape of one sample or parameter.
        shape: &'static [usize],
        /// Values in one sample.
        expected: usize,
        /// Values given.
        got: usize,
    },

    /// Two tensors that must have the same batch size do not.
    #[error("batch size mismatch in {op}: {left} vs {right}")]
    BatchMismatch {
        /// The operation that needs equal batch sizes.
        op: &'static str,
        /// The first operand's batch size.
        left: usize,
        /// The second operand's batch size.
        right: usize,
    },

    /// A parameter was given values of the wrong length.
    #[error("a parameter of shape {shape:?} holds {expected} values, but {got} were given")]
    ParamLength {
        /// The parameter's shape.
        shape: Vec<usize>,
        /// Values the parameter holds.
        expected: usize,
        /// Values given.
        got: usize,
    },

    /// A layer that has no gradient was asked for one.
    #[error("{layer} has no gradient and is for inference only; {hint}")]
    NotDifferentiable {
        /// The layer.
        layer: &'static str,
        /// What to use instead.
        hint: &'static str,
    },

    /// A class label is outside `0..classes`.
    #[error("label {label} is out of range: the network has {classes} outputs, so labels must be in 0..{classes}")]
    LabelOutOfRange {
        /// The label.
        label: f32,
        /// The number of outputs, so of classes.
        classes: usize,
    },

    /// A configuration value is unusable (batch size of zero, a fraction
    /// outside `[0, 1]`, ...).
    #[error("invalid {what}: {why}")]
    InvalidConfig {
        /// The setting.
        what: &'static str,
        /// What was wrong, as a sentence.
        why: String,
    },

    /// A safetensors file lacks a tensor that the network needs.
    #[error(
        "{path}: tensor `{name}` (shape {shape:?}) is missing from the file; it holds: {found}"
    )]
    MissingTensor {
        /// The file, as given (or `(memory)` for bytes).
        path: String,
        /// The tensor's name in the file.
        name: String,
        /// The shape the network expects.
        shape: Vec<usize>,
        /// The names the file holds, comma-separated.
        found: String,
    },

    /// A safetensors file has tensors that the network does not.
    #[error("{path}: the file has tensors the network does not: {names}; the network expects: {expected}")]
    UnexpectedTensors {
        /// The file, as given (or `(memory)` for bytes).
        path: String,
        /// The tensors the network does not have, comma-separated.
        names: String,
        /// The names the network expects, comma-separated.
        expected: String,
    },

    /// A tensor in a file has the wrong shape.
    #[error("{path}: tensor `{name}` has shape {got:?} but the network expects {expected:?}")]
    TensorShape {
        /// The file, as given (or `(memory)` for bytes).
        path: String,
        /// The tensor's name in the file.
        name: String,
        /// The shape in the file.
        got: Vec<usize>,
        /// The shape the network expects.
        expected: Vec<usize>,
    },

    /// A tensor in a file is not f32.
    #[error("{path}: tensor `{name}` has dtype {got} but staticnn needs F32; convert it before saving (in PyTorch: `t.float()`)")]
    TensorDtype {
        /// The file, as given (or `(memory)` for bytes).
        path: String,
        /// The tensor's name in the file.
        name: String,
        /// The dtype in the file.
        got: String,
    },

    /// A tensor in a file holds NaN or an infinity.
    #[error(
        "{path}: tensor `{name}` holds {value} at index {index}; weights must be finite numbers"
    )]
    TensorNotFinite {
        /// The file, as given (or `(memory)` for bytes).
        path: String,
        /// The tensor's name in the file.
        name: String,
        /// The index of the first offending value.
        index: usize,
        /// That value.
        value: f32,
    },

    /// A tensor that must hold no negative values (a running variance)
    /// holds one.
    #[error(
        "{path}: tensor `{name}` holds {value} at index {index}; it is a variance and must not be negative"
    )]
    TensorNegative {
        /// The file, as given (or `(memory)` for bytes).
        path: String,
        /// The tensor's name in the file.
        name: String,
        /// The index of the first offending value.
        index: usize,
        /// That value.
        value: f32,
    },

    /// A weights file could not be parsed at all.
    #[error("{path}: not a valid safetensors file: {why}")]
    BadWeights {
        /// The file, as given (or `(memory)` for bytes).
        path: String,
        /// What was wrong, as a sentence.
        why: String,
    },

    /// A data file (IDX, CSV) is malformed.
    #[error("{path}: {why}")]
    BadData {
        /// The file, as given (or `(memory)` for bytes).
        path: String,
        /// What was wrong, as a sentence.
        why: String,
    },

    /// An I/O error, with the file it happened on.
    #[error("{path}: {source}")]
    Io {
        /// The file, as given (or `(memory)` for bytes).
        path: PathBuf,
        /// The operating system's error.
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
        /// The epoch (from 0) after which it happened.
        epoch: usize,
        /// The epoch's mean training loss.
        loss: f32,
        /// The first parameter that is not finite, when the loss still is.
        tensor: Option<String>,
    },

    /// The HTTP server could not start or stopped abnormally.
    #[error("serve: {why}")]
    Serve {
        /// What was wrong, as a sentence.
        why: String,
    },

    /// A failure reported by a compute backend (a CUDA driver error, say).
    #[error("{backend} backend: {why}")]
    Backend {
        /// The backend (`cuda`).
        backend: &'static str,
        /// What was wrong, as a sentence.
        why: String,
    },
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

    /// An [`Error::InvalidConfig`]: `what` was wrong, and `why`. For
    /// layers and losses of your own, as for the built-in ones.
    pub fn config(what: &'static str, why: impl Into<String>) -> Self {
        Error::InvalidConfig {
            what,
            why: why.into(),
        }
    }
}
