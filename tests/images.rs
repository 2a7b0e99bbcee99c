//! The `infer` example's image preparation: digits drawn at another size,
//! dark on light, off centre, in PNG or PGM, come out as MNIST-like 28x28
//! inputs that a network trained on MNIST classifies as it does the
//! originals; broken files are clear errors.

#[path = "../examples/common/mod.rs"]
mod common;

use staticnn::images;
use staticnn::prelude::*;

/// A digit redrawn the way a user might: `scale` times larger, dark ink
/// on white paper, placed at `(dx, dy)` on a `w x h` page, as 8-bit RGB.
fn redraw(
    digit: &[f32],
    scale: usize,
    (w, h): (usize, usize),
    (dx, dy): (usize, usize),
) -> Vec<u8> {
    let mut page = vec![255u8; w * h * 3];
    for y in 0..28 * scale {
        for x in 0..28 * scale {
            let v = digit[(y / scale) * 28 + x / scale];
            let px = ((1.0 - v) * 255.0).round() as u8;
            let at = ((y + dy) * w + x + dx) * 3;
            page[at..at + 3].copy_from_slice(&[px, px, px]);
        }
    }
    page
}

fn png_bytes(rgb: &[u8], (w, h): (usize, usize)) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(rgb).unwrap();
    }
    out
}

fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len() as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
    let cov: f32 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f32 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f32 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn redrawn_digits_are_prepared_like_mnist_and_classified_the_same() {
    let (net, held_out) = common::quick_mlp(4).unwrap();
    let mut predictor = Predictor::new(&net).unwrap();
    let (mut agree, mut total, mut r_sum) = (0, 0, 0.0);
    for i in 0..100 {
        let digit = held_out.get(i).unwrap().0;
        let (w, h) = (130, 110);
        let page = png_bytes(&redraw(digit, 3, (w, h), (31 + i % 13, 9 + i % 17)), (w, h));
        let prepared = images::mnist_like(&images::decode(&page).unwrap()).unwrap();
        assert_eq!(prepared.len(), 784);
        assert!(prepared.iter().all(|v| (0.0..=1.0).contains(v)));
        let r = correlation(&prepared, digit);
        r_sum += r;
        agree += (predictor.predict_class(&prepared).unwrap()
            == predictor.predict_class(digit).unwrap()) as usize;
        total += 1;
    }
    // Redrawn digits are not pixel-identical (the ink's box is measured
    // on the page, and MNIST's own boxes include anti-aliased edges), but
    // close, and the network sees them as the originals.
    let r_mean = r_sum / total as f32;
    println!("mean correlation {r_mean:.3}; {agree} of {total} classified as the originals");
    assert!(
        r_mean > 0.75,
        "mean correlation with the originals {r_mean}"
    );
    assert!(agree * 100 >= 85 * total, "{agree} of {total} agree");
}

#[test]
fn pgm_and_png_variants_decode() {
    // A 16-bit binary PGM and a text one of the same 2x2 image.
    let p5 = [
        b"P5\n# comment\n2 2\n65535\n".as_slice(),
        &[0, 0, 255, 255, 128, 0, 0, 0],
    ]
    .concat();
    let g = images::decode(&p5).unwrap();
    assert_eq!((g.width, g.height), (2, 2));
    assert_eq!(g.pixels[1], 1.0);
    let p2 = images::decode(b"P2 2 2 255 0 255 128 0").unwrap();
    assert_eq!(p2.pixels[1], 1.0);
    // A transparent PNG pixel counts as white paper.
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 2, 1);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[0, 0, 0, 0, 0, 0, 0, 255]).unwrap();
    }
    let g = images::decode(&out).unwrap();
    assert_eq!(g.pixels, vec![1.0, 0.0]);
}

#[test]
fn broken_and_blank_images_are_clear_errors() {
    let err = |r: Result<images::Grey>| r.err().unwrap().to_string();
    for broken in [
        &b"\x89PNG\r\n\x1a\n garbage"[..],
        b"P5 2 2",
        b"P5 2 2 255\n\x01",
        b"P7 2 2 255\n\x01\x02\x03\x04",
        b"P2 0 2 255",
    ] {
        let e = err(images::decode(broken));
        assert!(e.contains("not a usable image"), "{e}");
    }
    let blank = images::Grey {
        width: 5,
        height: 5,
        pixels: vec![1.0; 25],
    };
    let e = images::mnist_like(&blank).err().unwrap().to_string();
    assert!(e.contains("blank"), "{e}");
    let e = images::read(std::path::Path::new("no-such-digit.png"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no-such-digit.png"), "{e}");
}
