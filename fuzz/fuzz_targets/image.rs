//! Digit images (PNG, PGM, BMP): decoded within the size limits and
//! prepared as 784 values in [0, 1], or refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use staticnn::images;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(grey) = images::decode(bytes) {
        assert!(grey.width as u32 <= images::MAX_SIDE && grey.height as u32 <= images::MAX_SIDE);
        assert_eq!(grey.pixels.len(), grey.width * grey.height);
        if let Ok(digit) = images::mnist_like(&grey) {
            assert_eq!(digit.len(), 784);
            assert!(digit.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }
});
