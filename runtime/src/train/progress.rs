//! `fit`'s progress bar: indicatif's with the `progress` feature, nothing
//! without it, so the training loop reads the same either way.

/// A bar over one epoch's batches, drawn only when asked for.
pub(super) struct EpochBar {
    #[cfg(feature = "progress")]
    bar: indicatif::ProgressBar,
}

impl EpochBar {
    /// A bar for epoch `epoch` (from 0) of `epochs`, over `batches`
    /// batches; hidden unless `show`.
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    pub fn new(show: bool, epoch: usize, epochs: usize, batches: usize) -> Self {
        #[cfg(feature = "progress")]
        {
            use indicatif::{ProgressBar, ProgressStyle};
            let bar = if show {
                let bar = ProgressBar::new(batches as u64);
                if let Ok(style) = ProgressStyle::with_template(
                    "epoch {prefix} {bar:30} {pos}/{len} batches {elapsed}<{eta}",
                ) {
                    bar.set_style(style);
                }
                bar.set_prefix(format!("{}/{epochs}", epoch + 1));
                bar
            } else {
                ProgressBar::hidden()
            };
            EpochBar { bar }
        }
        #[cfg(not(feature = "progress"))]
        EpochBar {}
    }

    /// One more batch done.
    pub fn inc(&self) {
        #[cfg(feature = "progress")]
        self.bar.inc(1);
    }

    /// The epoch is over: the bar goes, leaving the terminal as it was.
    pub fn finish(&self) {
        #[cfg(feature = "progress")]
        self.bar.finish_and_clear();
    }
}
