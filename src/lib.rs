pub use staticnn_runtime::*;
