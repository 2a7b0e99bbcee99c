//! IDX image and label files, plain or gzipped: parsed or refused, never
//! a panic, and never more memory than the bounds allow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use staticnn::data::mnist;
use std::path::Path;

fuzz_target!(|bytes: &[u8]| {
    let path = Path::new("fuzz.idx");
    if let Ok((n, rows, cols, pixels)) = mnist::parse_images(path, bytes) {
        assert_eq!(pixels.len(), n * rows * cols);
    }
    if let Ok(labels) = mnist::parse_labels(path, bytes) {
        assert!(labels.iter().all(|&l| l <= 9));
    }
});
