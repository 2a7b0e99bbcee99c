//! MNIST in its original IDX format (plain or gzipped), as distributed by
//! LeCun et al. and its mirrors.
//!
//! ```no_run
//! use staticnn_runtime::{data::mnist, Rank1};
//! let (train, test) = mnist::load_dir::<Rank1<784>>("data/mnist")?;
//! # Ok::<(), staticnn_runtime::Error>(())
//! ```

use super::{read_maybe_gz, Dataset};
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

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Parse an IDX3 image file: returns `(count, rows, cols, pixels)`.
pub fn parse_images(path: &Path, bytes: &[u8]) -> Result<(usize, usize, usize, Vec<u8>)> {
    let magic = if bytes.len() >= 4 {
        be_u32(bytes, 0)
    } else {
        0
    };
    if magic != IMAGES_MAGIC {
        return Err(bad(
            path,
            format!("magic number {magic:#010x}, expected {IMAGES_MAGIC:#010x} (IDX unsigned-byte images); is this a label file?"),
        ));
    }
    if bytes.len() < 16 {
        return Err(bad(
            path,
            format!(
                "{} bytes is too short for an IDX image header (16 bytes)",
                bytes.len()
            ),
        ));
    }
    let (n, rows, cols) = (
        be_u32(bytes, 4) as usize,
        be_u32(bytes, 8) as usize,
        be_u32(bytes, 12) as usize,
    );
    let want = n
        .checked_mul(rows)
        .and_then(|v| v.checked_mul(cols))
        .ok_or_else(|| bad(path, "image dimensions overflow"))?;
    let body = &bytes[16..];
    if body.len() != want {
        return Err(bad(
            path,
            format!("header announces {n} images of {rows}x{cols} ({want} bytes) but the file holds {} bytes of pixels (truncated?)", body.len()),
        ));
    }
    Ok((n, rows, cols, body.to_vec()))
}

/// Parse an IDX1 label file.
pub fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let magic = if bytes.len() >= 4 {
        be_u32(bytes, 0)
    } else {
        0
    };
    if magic != LABELS_MAGIC {
        return Err(bad(
            path,
            format!("magic number {magic:#010x}, expected {LABELS_MAGIC:#010x} (IDX unsigned-byte labels); is this an image file?"),
        ));
    }
    if bytes.len() < 8 {
        return Err(bad(
            path,
            format!(
                "{} bytes is too short for an IDX label header (8 bytes)",
                bytes.len()
            ),
        ));
    }
    let n = be_u32(bytes, 4) as usize;
    let body = &bytes[8..];
    if body.len() != n {
        return Err(bad(
            path,
            format!(
                "header announces {n} labels but the file holds {} (truncated?)",
                body.len()
            ),
        ));
    }
    if let Some(pos) = body.iter().position(|&l| l > 9) {
        return Err(bad(
            path,
            format!("label {} at index {pos} is not a digit 0-9", body[pos]),
        ));
    }
    Ok(body.to_vec())
}

/// Load an image file and its label file (each plain or `.gz`). Pixels are
/// scaled to `[0, 1]`; `X` must hold one image (`Rank1<784>` or
/// `Rank3<1, 28, 28>` for MNIST).
pub fn load<X: Shape>(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
) -> Result<Dataset<X, ClassIndex>> {
    let (images, labels) = (images.as_ref(), labels.as_ref());
    let (n, rows, cols, pixels) = parse_images(images, &read_maybe_gz(images)?)?;
    if rows * cols != X::SIZE {
        return Err(bad(
            images,
            format!(
                "images are {rows}x{cols} = {} values but the network input {:?} holds {}",
                rows * cols,
                X::DIMS,
                X::SIZE
            ),
        ));
    }
    let labels_v = parse_labels(labels, &read_maybe_gz(labels)?)?;
    if labels_v.len() != n {
        return Err(bad(
            labels,
            format!(
                "{} labels for {n} images in {}",
                labels_v.len(),
                images.display()
            ),
        ));
    }
    let x = pixels.iter().map(|&p| p as f32 / 255.0).collect();
    let y = labels_v.iter().map(|&l| l as f32).collect();
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
}
