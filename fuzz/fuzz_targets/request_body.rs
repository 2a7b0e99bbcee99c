//! `POST /predict` bodies: a checked batch of samples or a 4xx refusal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use staticnn::serve::request::{parse_predict, Expect};

fuzz_target!(|bytes: &[u8]| {
    let expect = Expect {
        size: 4,
        max_samples: 8,
        range: Some((0.0, 1.0)),
    };
    match parse_predict(bytes, &expect) {
        Ok(s) => {
            assert!(s.samples >= 1 && s.samples <= 8);
            assert_eq!(s.values.len(), s.samples * 4);
            assert!(s.values.iter().all(|v| (0.0..=1.0).contains(v)));
        }
        Err(r) => assert!((400..500).contains(&r.status)),
    }
});
