//! The [`Model`] trait that every `network!` implements, and its
//! [`Summary`].

use crate::layers::Layer;
use crate::ops::Backend;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Result;
use std::fmt;
use std::path::Path;

/// A whole network: a [`Layer`] that knows its device and can describe,
/// save and load itself. `network!` implements it; generic code (`fit`,
/// `evaluate`) takes any `Model`.
pub trait Model<B: Backend>: Layer<B> + Sized {
    /// What the last layer produces (see [`markers`](crate::markers)):
    /// the losses that train the network depend on it.
    type Head: crate::markers::Head;

    /// Whether a gradient flows through every layer (see
    /// [`markers`](crate::markers)).
    type Backprop: crate::markers::Backprop;

    /// The device holding the parameters.
    fn device(&self) -> &B;

    /// A Keras-like table of layers, output shapes and parameter counts.
    fn summary(&self) -> Summary;

    /// Save the weights as safetensors (atomically).
    fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::save(self, path)
    }

    /// Save the weights with the standardiser the network was trained
    /// behind, for [`Standardizer::load`](crate::data::Standardizer::load)
    /// (see [`io::save_with_standardizer`](crate::io::save_with_standardizer)).
    fn save_with_standardizer(
        &self,
        standardizer: &crate::data::Standardizer,
        path: impl AsRef<Path>,
    ) -> Result<()> {
        crate::io::save_with_standardizer(self, standardizer, path)
    }

    /// Load weights saved by [`save`](Model::save) or by PyTorch; on error
    /// the network is unchanged.
    fn load(&mut self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::load(self, path)
    }

    /// The index of the largest output of each sample (the predicted class).
    fn predict_classes(&self, x: &Tensor<B, Self::Input>) -> Result<Vec<usize>> {
        let y = self.forward(x)?;
        let values = y.to_vec()?;
        Ok(values
            .chunks_exact(<Self::Output as Shape>::SIZE)
            .map(crate::ops::loss::argmax)
            .collect())
    }
}

/// One line of a [`Summary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    /// The layer's name (`fc1`, or its index for unnamed layers).
    pub name: String,
    /// The layer as declared (`Dense(128)`).
    pub layer: String,
    /// Output shape of one sample.
    pub output: Vec<usize>,
    /// Learnable values (for a block, those of everything inside it).
    pub params: usize,
    /// Nesting level: 0 for the network's own layers, 1 for the layers of
    /// a block or nested network inside it, and so on.
    pub depth: usize,
}

/// A network's layers with their output shapes and parameter counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The network's type name.
    pub name: String,
    /// The shape of one input sample.
    pub input: Vec<usize>,
    /// One row per layer, nested networks' layers after them.
    pub rows: Vec<SummaryRow>,
}

impl Summary {
    /// Appends a row of depth 0. Called by `network!`'s generated
    /// `summary()` once per layer; kept out of line so that a network of
    /// hundreds of layers compiles to hundreds of calls rather than one
    /// huge inlined function, which LLVM optimises in more than linear
    /// time.
    #[doc(hidden)]
    #[inline(never)]
    pub fn push_row(
        rows: &mut Vec<SummaryRow>,
        name: &str,
        layer: &str,
        output: &[usize],
        params: usize,
    ) {
        rows.push(SummaryRow {
            name: name.to_string(),
            layer: layer.to_string(),
            output: output.to_vec(),
            params,
            depth: 0,
        });
    }

    /// Total learnable values (of the top-level rows: a block's row already
    /// counts what is inside it).
    pub fn total_params(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.depth == 0)
            .map(|r| r.params)
            .sum()
    }

    /// This summary's rows as the inside of a block named `prefix` in
    /// another network: one level deeper, names prefixed (`block1.conv1`).
    pub fn nested(self, prefix: &str) -> impl Iterator<Item = SummaryRow> + '_ {
        self.rows.into_iter().map(move |mut r| {
            r.depth += 1;
            r.name = format!("{prefix}.{}", r.name);
            r
        })
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn dims(d: &[usize]) -> String {
    format!("{d:?}")
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells: Vec<[String; 3]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    format!("{}{} ({})", "  ".repeat(r.depth), r.name, r.layer),
                    dims(&r.output),
                    thousands(r.params),
                ]
            })
            .collect();
        let head = [
            "Layer (type)".to_string(),
            "Output shape".to_string(),
            "Params".to_string(),
        ];
        let w: Vec<usize> = (0..3)
            .map(|c| {
                cells
                    .iter()
                    .chain([&head])
                    .map(|r| r[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let width = w[0] + w[1] + w[2] + 4;
        writeln!(f, "Model: {} (input {})", self.name, dims(&self.input))?;
        writeln!(f, "{}", "-".repeat(width))?;
        writeln!(
            f,
            "{:<a$}  {:<b$}  {:>c$}",
            head[0],
            head[1],
            head[2],
            a = w[0],
            b = w[1],
            c = w[2]
        )?;
        writeln!(f, "{}", "=".repeat(width))?;
        for r in &cells {
            writeln!(
                f,
                "{:<a$}  {:<b$}  {:>c$}",
                r[0],
                r[1],
                r[2],
                a = w[0],
                b = w[1],
                c = w[2]
            )?;
        }
        writeln!(f, "{}", "=".repeat(width))?;
        write!(f, "Total params: {}", thousands(self.total_params()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_table() {
        let s = Summary {
            name: "Mlp".into(),
            input: vec![784],
            rows: vec![
                SummaryRow {
                    name: "fc1".into(),
                    layer: "Dense(128)".into(),
                    output: vec![128],
                    params: 100_480,
                    depth: 0,
                },
                SummaryRow {
                    name: "1".into(),
                    layer: "Relu".into(),
                    output: vec![128],
                    params: 0,
                    depth: 0,
                },
            ],
        };
        let text = s.to_string();
        assert!(
            text.contains("fc1 (Dense(128))  [128]         100,480"),
            "{text}"
        );
        assert!(text.ends_with("Total params: 100,480"), "{text}");
    }
}
