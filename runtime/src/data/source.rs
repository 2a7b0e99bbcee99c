//! Reading data files (plain or gzipped) with bounds on what they can make
//! the loader allocate.
//!
//! A file's header or its compressed size says nothing trustworthy about
//! how much it decompresses to: 2 MB of gzip can inflate to gigabytes. So
//! every read here grows its buffer only as bytes actually arrive, never by
//! what a header claims, and stops at a [`Limits`] bound that depends on
//! the file's size on disk.

use crate::{Error, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Bounds on how much a data file may decompress to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes a file may hold once decompressed (default 1 GiB:
    /// MNIST's largest file is 47 MB, EMNIST's 550 MB).
    pub max_bytes: u64,
    /// The most a gzipped file may inflate to, as a multiple of its size
    /// on disk (default 100; MNIST's files inflate 2 to 5 times). Files
    /// smaller than 16 MiB once decompressed always pass this check.
    pub max_gzip_ratio: u64,
    /// The longest line a text file may have (default 4 MiB: a line of
    /// 100,000 numbers).
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1 << 30,
            max_gzip_ratio: 100,
            max_line_bytes: 4 << 20,
        }
    }
}

/// Below this many decompressed bytes the gzip ratio is not checked: tiny
/// files of zeros inflate far more than 100 times and are harmless.
const RATIO_FREE_BYTES: u64 = 16 << 20;

/// An open data file: its bytes, decompressed when it is gzip (whatever its
/// name), counted against the limits as they are read.
pub(crate) struct Source<'p> {
    pub path: &'p Path,
    reader: Box<dyn BufRead + 'p>,
    /// How many decompressed bytes may still be read.
    budget: u64,
    /// The bound in force, for the error message.
    bound: u64,
    /// Whether `bound` is the file's own size (uncompressed and under
    /// `max_bytes`), so that exceeding it means the file is truncated.
    bound_is_size: bool,
    gzip: bool,
}

impl<'p> Source<'p> {
    /// Open `path`, sniffing the gzip magic bytes.
    pub fn open(path: &'p Path, limits: &Limits) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let on_disk = file.metadata().map_err(|e| Error::io(path, e))?.len();
        Self::new(path, BufReader::new(file), on_disk, limits)
    }

    /// Bytes already in memory, `path` naming them in errors.
    pub fn from_bytes(path: &'p Path, bytes: &'p [u8], limits: &Limits) -> Result<Self> {
        Self::new(path, bytes, bytes.len() as u64, limits)
    }

    fn new(
        path: &'p Path,
        mut raw: impl BufRead + 'p,
        on_disk: u64,
        limits: &Limits,
    ) -> Result<Self> {
        let gzip = raw
            .fill_buf()
            .map_err(|e| Error::io(path, e))?
            .starts_with(&[0x1f, 0x8b]);
        let (reader, bound): (Box<dyn BufRead + 'p>, u64) = if gzip {
            let by_ratio = on_disk
                .saturating_mul(limits.max_gzip_ratio)
                .max(RATIO_FREE_BYTES);
            (gunzip(path, raw)?, by_ratio.min(limits.max_bytes))
        } else {
            // Uncompressed, the size on disk is exact: a header announcing
            // more is a truncated file, found before anything is read.
            (Box::new(raw), limits.max_bytes.min(on_disk))
        };
        Ok(Source {
            path,
            reader,
            budget: bound,
            bound,
            bound_is_size: !gzip && on_disk <= limits.max_bytes,
            gzip,
        })
    }

    /// The error for data this reader cannot make sense of.
    pub fn bad(&self, why: impl Into<String>) -> Error {
        Error::BadData {
            path: self.path.display().to_string(),
            why: why.into(),
        }
    }

    /// A failed read: corrupt compressed data, or the file itself.
    fn read_error(&self) -> impl Fn(std::io::Error) -> Error + 'p {
        let (path, gzip) = (self.path, self.gzip);
        move |e| {
            if gzip {
                Error::BadData {
                    path: path.display().to_string(),
                    why: format!("corrupt gzip data: {e}"),
                }
            } else {
                Error::io(path, e)
            }
        }
    }

    fn too_large(&self) -> Error {
        let why = if self.gzip {
            format!(
                "the file decompresses to more than {} bytes, the bound for a gzip file of its size; \
                 raise `Limits::max_bytes` or `Limits::max_gzip_ratio` if it is genuine",
                self.bound
            )
        } else {
            format!(
                "the file holds more than {} bytes; raise `Limits::max_bytes` if it is genuine",
                self.bound
            )
        };
        self.bad(why)
    }

    /// Charge `n` bytes for `what` against the budget, failing before they
    /// are read.
    fn charge(&mut self, n: u64, what: &str) -> Result<()> {
        match self.budget.checked_sub(n) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None if self.bound_is_size => Err(self.bad(format!(
                "{what}: {n} bytes expected, but the file holds only {} more (truncated?)",
                self.budget
            ))),
            None => Err(self.too_large()),
        }
    }

    /// Exactly `n` bytes; fewer is an error that says what `what` announced.
    /// The buffer grows as data arrives, so a header that announces more
    /// than the file holds costs nothing.
    pub fn read_exact_vec(&mut self, n: u64, what: &str) -> Result<Vec<u8>> {
        self.charge(n, what)?;
        let read_error = self.read_error();
        let mut out = Vec::new();
        (&mut self.reader)
            .take(n)
            .read_to_end(&mut out)
            .map_err(&read_error)?;
        if (out.len() as u64) < n {
            return Err(self.bad(format!(
                "{what}: {n} bytes expected, but the file ends after {} (truncated?)",
                out.len()
            )));
        }
        Ok(out)
    }

    /// Feed exactly `n` bytes to `each`, a chunk at a time (so the caller
    /// can convert them without holding the raw bytes).
    pub fn stream_exact(&mut self, n: u64, what: &str, mut each: impl FnMut(&[u8])) -> Result<()> {
        self.charge(n, what)?;
        let read_error = self.read_error();
        let mut left = n;
        while left > 0 {
            let chunk = self.reader.fill_buf().map_err(&read_error)?;
            if chunk.is_empty() {
                return Err(self.bad(format!(
                    "{what}: {n} bytes expected, but the file ends after {} (truncated?)",
                    n - left
                )));
            }
            let take = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            each(&chunk[..take]);
            self.reader.consume(take);
            left -= take as u64;
        }
        Ok(())
    }

    /// Fail if anything follows what has been read.
    pub fn expect_end(&mut self, what: &str) -> Result<()> {
        let read_error = self.read_error();
        let rest = self.reader.fill_buf().map_err(&read_error)?;
        if rest.is_empty() {
            Ok(())
        } else {
            Err(self.bad(format!(
                "data follows the {what}; the file holds more than its header announces"
            )))
        }
    }

    /// The next line without its line ending, into `line` (cleared first);
    /// `false` at the end of the file. A line longer than `max` bytes is an
    /// error naming `number`, found before more than `max` bytes are held.
    pub fn read_line(&mut self, line: &mut Vec<u8>, max: usize, number: usize) -> Result<bool> {
        line.clear();
        let read_error = self.read_error();
        let limit = (max as u64 + 1).min(self.budget.saturating_add(1));
        let got = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', line)
            .map_err(&read_error)?;
        if got == 0 {
            return Ok(false);
        }
        let ended = line.last() == Some(&b'\n');
        if !ended && got as u64 == limit {
            if limit > max as u64 {
                return Err(self.bad(format!(
                    "line {number} is longer than {max} bytes; raise `Limits::max_line_bytes` if it is genuine"
                )));
            }
            return Err(self.too_large());
        }
        self.charge(got as u64, "a line")?;
        if ended {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        Ok(true)
    }
}

/// A decompressing reader over gzip data.
#[cfg(feature = "gzip")]
fn gunzip<'p>(_path: &Path, raw: impl BufRead + 'p) -> Result<Box<dyn BufRead + 'p>> {
    Ok(Box::new(BufReader::new(
        flate2::bufread::MultiGzDecoder::new(raw),
    )))
}

/// Without the `gzip` feature a compressed file is refused by name.
#[cfg(not(feature = "gzip"))]
fn gunzip<'p>(path: &Path, _raw: impl BufRead + 'p) -> Result<Box<dyn BufRead + 'p>> {
    Err(Error::BadData {
        path: path.display().to_string(),
        why: "the file is gzip-compressed, and this build reads no gzip: enable staticnn's \
              `gzip` feature, or decompress the file first"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(path: &Path, bytes: &[u8]) {
        let mut enc =
            flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::best());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap();
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_ratio_bound() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bomb.gz");
        // 64 MiB of zeros: about 64 KB compressed, ratio ~1000.
        gzip(&p, &vec![0u8; 64 << 20]);
        let mut src = Source::open(&p, &Limits::default()).unwrap();
        let err = src.read_exact_vec(64 << 20, "header").unwrap_err();
        assert!(
            err.to_string().contains("decompresses to more than"),
            "{err}"
        );
        // Read line by line, the same bound holds.
        let mut src = Source::open(&p, &Limits::default()).unwrap();
        let mut line = Vec::new();
        let err = src.read_line(&mut line, usize::MAX / 2, 1).unwrap_err();
        assert!(
            err.to_string().contains("decompresses to more than"),
            "{err}"
        );
        assert!(line.capacity() <= 2 * RATIO_FREE_BYTES as usize + 4096);
    }

    #[test]
    fn lines_are_bounded_and_stripped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.txt");
        std::fs::write(&p, b"ab\r\ncd\nefghij\nk").unwrap();
        let mut src = Source::open(&p, &Limits::default()).unwrap();
        let mut line = Vec::new();
        let mut seen = Vec::new();
        let mut n = 0;
        while src
            .read_line(&mut line, 5, n + 1)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| {
                seen.push(e);
                false
            })
        {
            n += 1;
            seen.push(String::from_utf8(line.clone()).unwrap());
        }
        assert_eq!(seen[..2], ["ab", "cd"]);
        assert!(
            seen[2].contains("line 3 is longer than 5 bytes"),
            "{seen:?}"
        );
    }

    #[test]
    fn announced_sizes_are_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.bin");
        std::fs::write(&p, [1u8, 2, 3]).unwrap();
        let mut src = Source::open(&p, &Limits::default()).unwrap();
        let err = src.read_exact_vec(1 << 29, "the header").unwrap_err();
        assert!(
            err.to_string()
                .contains("the file holds only 3 more (truncated?)"),
            "{err}"
        );
        let mut src = Source::open(&p, &Limits::default()).unwrap();
        let err = src.read_exact_vec(u64::MAX, "the header").unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        // Compressed, the size is known only once the stream ends.
        let gz = dir.path().join("t.gz");
        gzip(&gz, &[1, 2, 3]);
        let mut src = Source::open(&gz, &Limits::default()).unwrap();
        let err = src.read_exact_vec(1 << 20, "the header").unwrap_err();
        assert!(err.to_string().contains("ends after 3"), "{err}");
        let mut src = Source::open(&p, &Limits::default()).unwrap();
        assert_eq!(src.read_exact_vec(2, "x").unwrap(), [1, 2]);
        assert!(src
            .expect_end("x")
            .unwrap_err()
            .to_string()
            .contains("data follows"));
    }
}
