//! The per-epoch record that `fit` returns.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// Figures for one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// Counted from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f32,
    /// For losses where accuracy means something.
    pub train_accuracy: Option<f32>,
    /// Mean validation loss, when there is a validation set.
    pub val_loss: Option<f32>,
    /// Validation accuracy, for classification with a validation set.
    pub val_accuracy: Option<f32>,
    /// Learning rate used in this epoch.
    pub lr: f32,
    /// Wall-clock seconds for training and validation.
    pub seconds: f32,
}

/// What happened during `fit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One entry per epoch run.
    pub epochs: Vec<EpochStats>,
    /// The epoch (from 1) with the lowest monitored loss (validation loss
    /// if there was a validation set, else training loss).
    pub best_epoch: Option<usize>,
    /// True when early stopping ended training before the last epoch.
    pub stopped_early: bool,
    /// What `fit` warned about (inputs far from unit scale), also printed
    /// to stderr when the run is verbose.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn opt(v: Option<f32>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl History {
    /// The last epoch's figures.
    pub fn last(&self) -> Option<&EpochStats> {
        self.epochs.last()
    }

    /// As CSV, one line per epoch, with a header.
    pub fn to_csv(&self) -> String {
        let mut s =
            String::from("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds\n");
        for e in &self.epochs {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{}",
                e.epoch,
                e.train_loss,
                opt(e.train_accuracy),
                opt(e.val_loss),
                opt(e.val_accuracy),
                e.lr,
                e.seconds
            );
        }
        s
    }

    /// As pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain numbers and options cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Write [`to_csv`](History::to_csv) to `path`.
    pub fn save_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        std::fs::write(path.as_ref(), self.to_csv()).map_err(|e| Error::io(path.as_ref(), e))
    }

    /// Write [`to_json`](History::to_json) to `path`.
    pub fn save_json(&self, path: impl AsRef<Path>) -> Result<()> {
        std::fs::write(path.as_ref(), self.to_json()).map_err(|e| Error::io(path.as_ref(), e))
    }
}
