//! MNIST in its original IDX format (plain or gzipped), as distributed by
//! LeCun et al. and its mirrors.
//!
//! ```no_run
//! use staticnn_runtime::{data::mnist, Rank1};
//! let (train, test) = mnist::load_dir::<Rank1<784>>("data/mnist")?;
//! # Ok::<(), staticnn_runtime::Error>(())
//! ```

use super::source::{Limits, Source};
use super::Dataset;
use crate::shape::{ClassIndex, Shape};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

fn bad(path: &Path, why: impl Into<String>) -> Error {
    Error::BadData {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// The header's big-endian words after the magic number, which must be
/// `magic` (`kind` names the file kind in the error).
fn header<const K: usize>(src: &mut Source<'_>, magic: u32, kind: &str) -> Result<[u64; K]> {
    let be = |b: &[u8], i: usize| {
        u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
    };
    // The magic number alone first, so that a swapped or foreign file is
    // named as such even when it is shorter than the header.
    let found = be(&src.read_exact_vec(4, "an IDX magic number")?, 0);
    if found != magic {
        let other = if magic == IMAGES_MAGIC {
            "label"
        } else {
            "image"
        };
        return Err(src.bad(format!(
            "magic number {found:#010x}, expected {magic:#010x} (IDX unsigned-byte {kind}s); is this an {other} file?"
        )));
    }
    let head = src.read_exact_vec(4 * K as u64, &format!("the rest of an IDX {kind} header"))?;
    let word = |i: usize| be(&head, i - 1);
    Ok(std::array::from_fn(|i| u64::from(word(i + 1))))
}

/// `(count, rows, cols)` of an image file whose header has been read.
fn images_header(src: &mut Source<'_>) -> Result<(u64, u64, u64)> {
    let [n, rows, cols] = header::<3>(src, IMAGES_MAGIC, "image")?;
    Ok((n, rows, cols))
}

/// The labels after a label header announcing `n`, each checked to be a
/// digit, and nothing after them.
fn label_body(src: &mut Source<'_>, n: u64) -> Result<Vec<u8>> {
    let body = src.read_exact_vec(n, &format!("the header's {n} labels"))?;
    src.expect_end("labels")?;
    if let Some(pos) = body.iter().position(|&l| l > 9) {
        return Err(src.bad(format!(
            "label {} at index {pos} is not a digit 0-9",
            body[pos]
        )));
    }
    Ok(body)
}

fn pixel_count(src: &Source<'_>, n: u64, rows: u64, cols: u64) -> Result<u64> {
    n.checked_mul(rows)
        .and_then(|v| v.checked_mul(cols))
        .ok_or_else(|| {
            src.bad(format!(
                "{n} images of {rows}x{cols} pixels overflow a 64-bit size"
            ))
        })
}

/// Parse an IDX3 image file held in memory (plain or gzipped): returns
/// `(count, rows, cols, pixels)`. Sizes are checked against
/// [`Limits::default`] as the file is decoded, whatever its header claims.
pub fn parse_images(path: &Path, bytes: &[u8]) -> Result<(usize, usize, usize, Vec<u8>)> {
    let mut src = Source::from_bytes(path, bytes, &Limits::default())?;
    let (n, rows, cols) = images_header(&mut src)?;
    let want = pixel_count(&src, n, rows, cols)?;
    let pixels = src.read_exact_vec(want, &format!("the header's {n} images of {rows}x{cols}"))?;
    src.expect_end("images")?;
    // Each factor came from a u32 and their product fits in memory.
    Ok((n as usize, rows as usize, cols as usize, pixels))
}

/// Parse an IDX1 label file held in memory (plain or gzipped).
pub fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut src = Source::from_bytes(path, bytes, &Limits::default())?;
    let [n] = header::<1>(&mut src, LABELS_MAGIC, "label")?;
    label_body(&mut src, n)
}

/// Load an image file and its label file (each plain or `.gz`). Pixels are
/// scaled to `[0, 1]`; `X` must hold one image (`Rank1<784>` or
/// `Rank3<1, 28, 28>` for MNIST).
pub fn load<X: Shape>(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
) -> Result<Dataset<X, ClassIndex>> {
    load_with(images, labels, &Limits::default())
}

/// [`load`] with explicit bounds on how large the files may be.
///
/// Both headers are read and checked against each other and against `X`
/// first; the bodies are then decoded exactly as announced, growing the
/// dataset as bytes arrive, and anything after them is refused.
pub fn load_with<X: Shape>(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
    limits: &Limits,
) -> Result<Dataset<X, ClassIndex>> {
    let (images, labels) = (images.as_ref(), labels.as_ref());
    let mut isrc = Source::open(images, limits)?;
    let (n, rows, cols) = images_header(&mut isrc)?;
    if rows.checked_mul(cols) != Some(X::SIZE as u64) {
        return Err(bad(
            images,
            format!(
                "images are {rows}x{cols} = {} values but the network input {:?} holds {}",
                rows.saturating_mul(cols),
                X::DIMS,
                X::SIZE
            ),
        ));
    }
    let mut lsrc = Source::open(labels, limits)?;
    let [n_labels] = header::<1>(&mut lsrc, LABELS_MAGIC, "label")?;
    if n_labels != n {
        return Err(bad(
            labels,
            format!("{n_labels} labels for {n} images in {}", images.display()),
        ));
    }
    let want = pixel_count(&isrc, n, rows, cols)?;
    let mut x = Vec::new();
    isrc.stream_exact(
        want,
        &format!("the header's {n} images of {rows}x{cols}"),
        |chunk| x.extend(chunk.iter().map(|&p| f32::from(p) / 255.0)),
    )?;
    isrc.expect_end("images")?;
    let y = label_body(&mut lsrc, n)?
        .into_iter()
        .map(f32::from)
        .collect();
    Dataset::new(x, y)
}

/// The first of `names` (each tried plain and with `.gz`) that exists in
/// `dir`.
fn find(dir: &Path, names: &[&str]) -> Result<PathBuf> {
    for name in names {
        for candidate in [dir.join(name), dir.join(format!("{name}.gz"))] {
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(bad(
        dir,
        format!(
            "no {} (or .gz) in this directory; download MNIST's four IDX files into it",
            names[0]
        ),
    ))
}

/// Load the standard MNIST training and test sets from a directory holding
/// `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` (each optionally
/// `.gz`; the dotted `train-images.idx3-ubyte` spelling also works).
#[allow(clippy::type_complexity)]
pub fn load_dir<X: Shape>(
    dir: impl AsRef<Path>,
) -> Result<(Dataset<X, ClassIndex>, Dataset<X, ClassIndex>)> {
    let dir = dir.as_ref();
    let train = load(
        find(dir, &["train-images-idx3-ubyte", "train-images.idx3-ubyte"])?,
        find(dir, &["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"])?,
    )?;
    let test = load(
        find(dir, &["t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"])?,
        find(dir, &["t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"])?,
    )?;
    Ok((train, test))
}

/// Encode images and labels as IDX files (for tests and for exporting).
pub fn write_idx(
    images: &Path,
    labels: &Path,
    rows: usize,
    cols: usize,
    pixels: &[u8],
    label_values: &[u8],
) -> Result<()> {
    let n = label_values.len();
    let mut img = Vec::with_capacity(16 + pixels.len());
    for v in [IMAGES_MAGIC, n as u32, rows as u32, cols as u32] {
        img.extend_from_slice(&v.to_be_bytes());
    }
    img.extend_from_slice(pixels);
    let mut lab = Vec::with_capacity(8 + n);
    for v in [LABELS_MAGIC, n as u32] {
        lab.extend_from_slice(&v.to_be_bytes());
    }
    lab.extend_from_slice(label_values);
    std::fs::write(images, img).map_err(|e| Error::io(images, e))?;
    std::fs::write(labels, lab).map_err(|e| Error::io(labels, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Rank1;
    use std::io::Write;

    fn fixture(dir: &Path) -> (PathBuf, PathBuf) {
        let (i, l) = (dir.join("img"), dir.join("lab"));
        let pixels: Vec<u8> = (0..3 * 4).map(|v| (v * 20) as u8).collect();
        write_idx(&i, &l, 2, 2, &pixels, &[1, 7, 9]).unwrap();
        (i, l)
    }

    #[test]
    fn reads_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let (i, l) = fixture(dir.path());
        let d = load::<Rank1<4>>(&i, &l).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d.targets(), &[1.0, 7.0, 9.0]);
        assert!((d.inputs()[1] - 20.0 / 255.0).abs() < 1e-6);

        let gz = dir.path().join("img.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(&std::fs::read(&i).unwrap()).unwrap();
        enc.finish().unwrap();
        assert_eq!(load::<Rank1<4>>(&gz, &l).unwrap().inputs(), d.inputs());
    }

    #[test]
    fn malformed_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (i, l) = fixture(dir.path());
        // Swapped files: wrong magic.
        let err = load::<Rank1<4>>(&l, &i).unwrap_err().to_string();
        assert!(err.contains("magic number"), "{err}");
        // Truncated pixels.
        let bytes = std::fs::read(&i).unwrap();
        std::fs::write(&i, &bytes[..bytes.len() - 1]).unwrap();
        let err = load::<Rank1<4>>(&i, &l).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        // Wrong image size for the network.
        let (i, l) = fixture(dir.path());
        let err = load::<Rank1<784>>(&i, &l).unwrap_err().to_string();
        assert!(err.contains("2x2"), "{err}");
        // Missing file.
        assert!(matches!(
            load::<Rank1<4>>(dir.path().join("nope"), &l),
            Err(Error::Io { .. })
        ));
        // Garbage gzip.
        std::fs::write(&i, [0x1f, 0x8b, 1, 2, 3]).unwrap();
        assert!(load::<Rank1<4>>(&i, &l).is_err());
    }

    fn gzip(path: &Path, bytes: &[u8]) {
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::best(),
        );
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap();
    }

    fn idx_images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
        [IMAGES_MAGIC, n, rows, cols]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect()
    }

    #[test]
    fn a_gzip_bomb_is_refused_before_it_inflates() {
        let dir = tempfile::tempdir().unwrap();
        let (_, l) = fixture(dir.path());
        // A header announcing 100,000 images of 28x28 and 78 MB of zeros
        // behind it, ~80 KB compressed: far beyond the ratio bound.
        let mut bomb = idx_images(100_000, 28, 28);
        bomb.resize(bomb.len() + 100_000 * 784, 0);
        let i = dir.path().join("bomb.gz");
        gzip(&i, &bomb);
        std::fs::write(
            &l,
            [
                [LABELS_MAGIC, 100_000].map(u32::to_be_bytes).concat(),
                vec![0; 100_000],
            ]
            .concat(),
        )
        .unwrap();
        let err = load::<Rank1<784>>(&i, &l).unwrap_err().to_string();
        assert!(err.contains("decompresses to more than"), "{err}");
        // Raising the ratio admits it: the bound is the only reason.
        let limits = Limits {
            max_gzip_ratio: 10_000,
            ..Limits::default()
        };
        assert_eq!(
            load_with::<Rank1<784>>(&i, &l, &limits).unwrap().len(),
            100_000
        );
    }

    #[test]
    fn headers_are_checked_before_bodies_and_trailing_data_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (i, l) = fixture(dir.path());
        // A header claiming 4 billion images costs nothing: it is refused
        // against the label count before any pixel is read.
        let mut huge = idx_images(u32::MAX, 2, 2);
        huge.extend_from_slice(&[0; 12]);
        let big = dir.path().join("huge");
        std::fs::write(&big, &huge).unwrap();
        let err = load::<Rank1<4>>(&big, &l).unwrap_err().to_string();
        assert!(err.contains("3 labels for 4294967295 images"), "{err}");
        // Dimensions whose product overflows.
        std::fs::write(&big, idx_images(3, u32::MAX, u32::MAX)).unwrap();
        let err = load::<Rank1<4>>(&big, &l).unwrap_err().to_string();
        assert!(err.contains("network input"), "{err}");
        // One byte too many, plain and gzipped.
        let mut extra = std::fs::read(&i).unwrap();
        extra.push(0);
        std::fs::write(&big, &extra).unwrap();
        let err = load::<Rank1<4>>(&big, &l).unwrap_err().to_string();
        assert!(err.contains("data follows the images"), "{err}");
        gzip(&big, &extra);
        let err = load::<Rank1<4>>(&big, &l).unwrap_err().to_string();
        assert!(err.contains("data follows the images"), "{err}");
        let mut labels = std::fs::read(&l).unwrap();
        labels.push(1);
        std::fs::write(&big, &labels).unwrap();
        let err = load::<Rank1<4>>(&i, &big).unwrap_err().to_string();
        assert!(err.contains("data follows the labels"), "{err}");
        // A label that is not a digit.
        let n = labels.len();
        labels[n - 2] = 10;
        labels.pop();
        std::fs::write(&big, &labels).unwrap();
        let err = load::<Rank1<4>>(&i, &big).unwrap_err().to_string();
        assert!(err.contains("label 10 at index 2"), "{err}");
        // In memory, the same checks.
        let err = parse_images(&big, &huge).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }
}
