//! Pictures of handwritten digits, decoded safely and prepared the way
//! MNIST's digits were, so that a network trained on MNIST sees a user's
//! photo or drawing as it saw its training data (feature `image`).
//!
//! MNIST's preparation: grey, light ink on a dark background, the ink's
//! bounding box scaled to fit 20x20 pixels (keeping its aspect ratio),
//! placed in a 28x28 frame with its centre of mass in the middle,
//! intensities in `[0, 1]`.
//!
//! Decoding goes through the `image` crate with limits: a file may not
//! claim more than [`MAX_SIDE`] pixels a side, nor make the decoder
//! allocate more than [`MAX_DECODE_BYTES`], whatever its header says, so a
//! 67-byte PNG claiming 100000x100000 pixels is an error, not a 40 GB
//! allocation.
//!
//! ```
//! use staticnn_runtime::images;
//! // A 3x3 black square on white paper, as a PGM.
//! let mut pgm = b"P5 9 9 255\n".to_vec();
//! pgm.extend((0..81).map(|i| if (3..6).contains(&(i % 9)) && (3..6).contains(&(i / 9)) { 0 } else { 255 }));
//! let digit = images::mnist_like(&images::decode(&pgm)?)?;
//! assert_eq!(digit.len(), 784);
//! assert!(digit[14 * 28 + 14] > 0.9); // ink, now light, in the middle
//! # Ok::<(), staticnn_runtime::Error>(())
//! ```

use crate::{Error, Result};
use std::path::Path;

/// The largest width or height accepted: digits photographed by a phone
/// fit, posters do not.
pub const MAX_SIDE: u32 = 4096;

/// The most the decoder may allocate for one image (a 4096x4096 RGBA image
/// at 8 bits is 64 MiB).
pub const MAX_DECODE_BYTES: u64 = 96 << 20;

/// The most bytes an image file may have.
pub const MAX_FILE_BYTES: u64 = 32 << 20;

/// A greyscale image, row-major, values in `[0, 1]` (0 black).
#[derive(Debug, Clone, PartialEq)]
pub struct Grey {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width * height` values, row after row.
    pub pixels: Vec<f32>,
}

fn bad_image(origin: &str, why: impl std::fmt::Display) -> Error {
    Error::BadData {
        path: origin.to_string(),
        why: format!("not a usable image: {why}"),
    }
}

/// Decode a PNG, PGM/PPM/PBM or BMP held in memory (the format is sniffed
/// from the bytes): any colour type and depth, transparency laid over
/// white paper.
pub fn decode(bytes: &[u8]) -> Result<Grey> {
    decode_named(bytes, "(image)")
}

/// Read an image file (see [`decode`]); errors name the file.
pub fn read(path: impl AsRef<Path>) -> Result<Grey> {
    use std::io::Read;
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    let origin = path.display().to_string();
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(bad_image(
            &origin,
            format!("the file is larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    decode_named(&bytes, &origin)
}

fn decode_named(bytes: &[u8], origin: &str) -> Result<Grey> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad_image(origin, e))?;
    if reader.format().is_none() {
        return Err(bad_image(origin, "expected a PNG, PGM or BMP file"));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => bad_image(
            origin,
            format!("{e}; images of digits may be at most {MAX_SIDE}x{MAX_SIDE} pixels"),
        ),
        e => bad_image(origin, e),
    })?;
    let (width, height) = (decoded.width() as usize, decoded.height() as usize);
    if width == 0 || height == 0 {
        return Err(bad_image(origin, format!("{width}x{height} pixels")));
    }
    // 8-bit grey plus alpha covers every input; 16-bit depth is more than
    // a digit needs.
    let grey_alpha = decoded.into_luma_alpha8();
    let pixels = grey_alpha
        .pixels()
        .map(|p| {
            let (grey, alpha) = (f32::from(p.0[0]) / 255.0, f32::from(p.0[1]) / 255.0);
            // Over a white background.
            alpha * grey + (1.0 - alpha)
        })
        .collect();
    Ok(Grey {
        width,
        height,
        pixels,
    })
}

/// Area-average `src` to `m` values: each output averages the stretch of
/// input it covers, in proportion to how much of each input pixel falls
/// inside it.
fn resample(src: &[f32], m: usize) -> Vec<f32> {
    let scale = src.len() as f32 / m as f32;
    (0..m)
        .map(|j| {
            let (a, b) = (j as f32 * scale, (j + 1) as f32 * scale);
            let mut sum = 0.0;
            let mut i = a.floor() as usize;
            while (i as f32) < b && i < src.len() {
                let cover = (b.min(i as f32 + 1.0) - a.max(i as f32)).max(0.0);
                sum += src[i] * cover;
                i += 1;
            }
            sum / (b - a)
        })
        .collect()
}

/// Resize a `w x h` image to `nw x nh` by area averaging, rows then
/// columns.
fn resize(px: &[f32], (w, h): (usize, usize), (nw, nh): (usize, usize)) -> Vec<f32> {
    let rows: Vec<f32> = px.chunks_exact(w).flat_map(|r| resample(r, nw)).collect();
    let mut out = vec![0.0; nw * nh];
    for x in 0..nw {
        let column: Vec<f32> = (0..h).map(|y| rows[y * nw + x]).collect();
        for (y, v) in resample(&column, nh).into_iter().enumerate() {
            out[y * nw + x] = v;
        }
    }
    out
}

/// How bright a pixel must be, after inversion, to count as ink.
const INK: f32 = 0.1;

/// The 784 pixels (28x28, row-major, `[0, 1]`) a network trained on MNIST
/// expects, from an image of one digit of any size, dark on light or light
/// on dark.
pub fn mnist_like(image: &Grey) -> Result<Vec<f32>> {
    let (w, h) = (image.width, image.height);
    if w == 0 || h == 0 || image.pixels.len() != w * h {
        return Err(Error::config(
            "image",
            format!("{} pixels do not make a {w}x{h} image", image.pixels.len()),
        ));
    }
    if let Some(i) = image.pixels.iter().position(|v| !v.is_finite()) {
        return Err(Error::config(
            "image",
            format!("pixel {i} is not a finite number"),
        ));
    }
    // MNIST digits are light on dark. A light border means dark ink on
    // paper: invert.
    let border: Vec<f32> = (0..w)
        .flat_map(|x| [image.pixels[x], image.pixels[(h - 1) * w + x]])
        .chain((0..h).flat_map(|y| [image.pixels[y * w], image.pixels[y * w + w - 1]]))
        .collect();
    let light = border.iter().sum::<f32>() / border.len() as f32 > 0.5;
    let ink: Vec<f32> = image
        .pixels
        .iter()
        .map(|&v| if light { 1.0 - v } else { v }.clamp(0.0, 1.0))
        .collect();
    // The ink's bounding box.
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for (i, &v) in ink.iter().enumerate() {
        if v > INK {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
        }
    }
    if x0 >= x1 {
        return Err(Error::config("image", "the image is blank: no ink found"));
    }
    let (bw, bh) = (x1 - x0, y1 - y0);
    let crop: Vec<f32> = (y0..y1)
        .flat_map(|y| ink[y * w + x0..y * w + x1].iter().copied())
        .collect();
    // Fit the longer side to 20 pixels.
    let scale = 20.0 / bw.max(bh) as f32;
    let (nw, nh) = (
        ((bw as f32 * scale).round() as usize).clamp(1, 20),
        ((bh as f32 * scale).round() as usize).clamp(1, 20),
    );
    let small = resize(&crop, (bw, bh), (nw, nh));
    // Centre of mass to the middle of the 28x28 frame.
    let mass: f32 = small.iter().sum::<f32>().max(1e-6);
    let moment = |coord: fn(usize, usize) -> usize| {
        small
            .iter()
            .enumerate()
            .map(|(i, v)| coord(i, nw) as f32 * v)
            .sum::<f32>()
            / mass
    };
    let (cx, cy) = (moment(|i, nw| i % nw), moment(|i, nw| i / nw));
    let (ox, oy) = ((13.5 - cx).round() as isize, (13.5 - cy).round() as isize);
    let mut out = vec![0.0; 784];
    for (i, &v) in small.iter().enumerate() {
        let (x, y) = ((i % nw) as isize + ox, (i / nw) as isize + oy);
        if (0..28).contains(&x) && (0..28).contains(&y) {
            out[y as usize * 28 + x as usize] = v.clamp(0.0, 1.0);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG from raw chunks, with correct CRCs, so that malformed but
    /// well-framed files can be built.
    fn png(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in chunks {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut crc = flate2::Crc::new();
            crc.update(&kind[..]);
            crc.update(data);
            out.extend_from_slice(&kind[..]);
            out.extend_from_slice(data);
            out.extend_from_slice(&crc.sum().to_be_bytes());
        }
        out
    }

    fn ihdr(w: u32, h: u32, depth: u8, colour: u8) -> Vec<u8> {
        [
            &w.to_be_bytes()[..],
            &h.to_be_bytes(),
            &[depth, colour, 0, 0, 0],
        ]
        .concat()
    }

    #[test]
    fn a_tiny_png_claiming_a_huge_image_is_refused_before_allocating() {
        let bomb = png(&[(b"IHDR", ihdr(100_000, 100_000, 8, 6)), (b"IEND", vec![])]);
        assert!(bomb.len() < 70);
        let err = decode(&bomb).unwrap_err().to_string();
        assert!(err.contains("at most 4096x4096"), "{err}");
    }

    #[test]
    fn a_palette_of_258_entries_is_an_error_not_a_panic() {
        // A 2x2 paletted image whose pixel data is complete and valid (a
        // filter byte and two indices per row), so that the palette's
        // length is the only thing wrong with it.
        let with_palette = |entries: usize| {
            let mut idat = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut idat, &[0, 0, 1, 0, 1, 0]).unwrap();
            let palette = (0..entries * 3).map(|i| (i % 256) as u8).collect();
            png(&[
                (b"IHDR", ihdr(2, 2, 8, 3)),
                (b"PLTE", palette),
                (b"IDAT", idat.finish().unwrap()),
                (b"IEND", vec![]),
            ])
        };
        // The same file with a legal palette decodes: the test's file is
        // well formed but for the palette.
        assert_eq!(decode(&with_palette(256)).unwrap().pixels.len(), 4);
        let err = decode(&with_palette(258)).unwrap_err().to_string();
        assert!(err.contains("not a usable image"), "{err}");
    }

    #[test]
    fn pgm_whose_size_overflows_is_refused() {
        let err = decode(b"P5 4294967295 4294967295 255\n\x01")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a usable image"), "{err}");
        let err = decode(b"P2 99999999 99999999 255\n1 2")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a usable image"), "{err}");
        let err = decode(b"hello").unwrap_err().to_string();
        assert!(err.contains("expected a PNG, PGM or BMP"), "{err}");
    }

    #[test]
    fn mismatched_pixels_are_an_error() {
        let g = Grey {
            width: 3,
            height: 3,
            pixels: vec![0.0; 8],
        };
        assert!(mnist_like(&g).is_err());
        let g = Grey {
            width: 0,
            height: 0,
            pixels: vec![],
        };
        assert!(mnist_like(&g).is_err());
        let mut g = Grey {
            width: 2,
            height: 2,
            pixels: vec![0.0; 4],
        };
        g.pixels[1] = f32::NAN;
        assert!(mnist_like(&g).is_err());
    }
}
