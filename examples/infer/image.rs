//! Digit images from files, prepared the way MNIST's digits were: grey,
//! light ink on a dark background, the ink's bounding box scaled to fit
//! 20x20 pixels (keeping its aspect ratio), placed in a 28x28 image with
//! its centre of mass in the middle, and intensities in [0, 1] (the
//! training data's pixels divided by 255).

use std::path::Path;

type Error = Box<dyn std::error::Error>;

/// A greyscale image, row-major, values in [0, 1] (0 black).
pub struct Grey {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<f32>,
}

/// Read a PNG (any colour type or depth; transparency is laid over white)
/// or a PGM (`P5` or `P2`) of any size.
pub fn read(path: &Path) -> Result<Grey, Error> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let image = match ext.as_deref() {
        Some("png") => decode_png(&bytes),
        Some("pgm") => decode_pgm(&bytes),
        _ => Err("expected a .png or .pgm file".into()),
    };
    image.map_err(|e| format!("{}: {e}", path.display()).into())
}

pub fn decode_png(bytes: &[u8]) -> Result<Grey, Error> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // Palettes expanded, 16 bits cut to 8: every image arrives as 8-bit
    // grey or colour, with or without alpha.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("not a valid PNG: {e}"))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("not a valid PNG: {e}"))?;
    let channels = frame.color_type.samples();
    let (width, height) = (frame.width as usize, frame.height as usize);
    let pixels = buf[..frame.buffer_size()]
        .chunks_exact(channels)
        .map(|px| {
            let v = |i: usize| px[i] as f32 / 255.0;
            let (grey, alpha) = match channels {
                1 => (v(0), 1.0),
                2 => (v(0), v(1)),
                3 => (0.299 * v(0) + 0.587 * v(1) + 0.114 * v(2), 1.0),
                _ => (0.299 * v(0) + 0.587 * v(1) + 0.114 * v(2), v(3)),
            };
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

/// A PGM, `P5` (binary) or `P2` (text), maximum value up to 65535.
pub fn decode_pgm(bytes: &[u8]) -> Result<Grey, Error> {
    // Header: magic, width, height, maxval, separated by whitespace, with
    // `#` comments.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 && i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                let start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                fields.push(String::from_utf8_lossy(&bytes[start..i]).to_string());
            }
        }
    }
    if fields.len() < 4 {
        return Err("not a PGM image: truncated header".into());
    }
    let num = |s: &str| {
        s.parse::<usize>()
            .map_err(|_| format!("not a PGM image: `{s}` is not a number"))
    };
    let (width, height, max) = (num(&fields[1])?, num(&fields[2])?, num(&fields[3])?);
    if width == 0 || height == 0 || width * height > 1 << 26 {
        return Err(format!("not a usable PGM image: {width}x{height}").into());
    }
    if max == 0 || max > 65535 {
        return Err(format!("PGM maximum value {max} is not in 1..=65535").into());
    }
    let n = width * height;
    let values: Vec<usize> = match fields[0].as_str() {
        "P5" => {
            let data = bytes.get(i + 1..).unwrap_or(&[]);
            let wide = max > 255;
            let need = if wide { 2 * n } else { n };
            if data.len() < need {
                return Err(format!("PGM image has fewer than {n} pixels").into());
            }
            if wide {
                data[..need]
                    .chunks_exact(2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
                    .collect()
            } else {
                data[..n].iter().map(|&b| b as usize).collect()
            }
        }
        "P2" => {
            let text = String::from_utf8_lossy(&bytes[i..]);
            let values = text
                .split_ascii_whitespace()
                .take(n)
                .map(num)
                .collect::<Result<Vec<_>, _>>()?;
            if values.len() != n {
                return Err(format!("PGM image has fewer than {n} pixels").into());
            }
            values
        }
        other => return Err(format!("PGM magic `{other}`, expected P5 or P2").into()),
    };
    Ok(Grey {
        width,
        height,
        pixels: values
            .iter()
            .map(|&v| v.min(max) as f32 / max as f32)
            .collect(),
    })
}

/// Area-average `src` (length `n`) to `m` values: each output averages the
/// stretch of input it covers, in proportion to how much of each input
/// pixel falls inside it.
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

/// The 784 pixels the network expects, from any image of one digit.
pub fn mnist_like(image: &Grey) -> Result<Vec<f32>, Error> {
    let (w, h) = (image.width, image.height);
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
        .map(|&v| if light { 1.0 - v } else { v })
        .collect();
    // The ink's bounding box.
    const INK: f32 = 0.1;
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for (i, &v) in ink.iter().enumerate() {
        if v > INK {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
        }
    }
    if x0 >= x1 {
        return Err("the image is blank: no ink found".into());
    }
    let (bw, bh) = (x1 - x0, y1 - y0);
    let crop: Vec<f32> = (y0..y1)
        .flat_map(|y| ink[y * w + x0..y * w + x1].to_vec())
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
    let cx = small
        .iter()
        .enumerate()
        .map(|(i, v)| (i % nw) as f32 * v)
        .sum::<f32>()
        / mass;
    let cy = small
        .iter()
        .enumerate()
        .map(|(i, v)| (i / nw) as f32 * v)
        .sum::<f32>()
        / mass;
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
