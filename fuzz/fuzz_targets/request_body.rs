//! `POST /predict` bodies: a checked batch of samples or a 4xx refusal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use staticnn::serve::request::{parse_predict, parse_predict_serde, Expect};

fuzz_target!(|bytes: &[u8]| {
    let expect = Expect {
        size: 4,
        max_samples: 8,
        range: Some((0.0, 1.0)),
    };
    let answer = parse_predict(bytes, &expect);
    // The fast path must agree with serde_json: the same verdict, the same
    // samples, values within an f32 rounding (serde_json's own decimal
    // parser is not always correctly rounded), the same refusal.
    match (&answer, parse_predict_serde(bytes, &expect)) {
        (Ok(a), Ok(b)) => {
            assert_eq!((a.samples, a.batch), (b.samples, b.batch));
            for (x, y) in a.values.iter().zip(&b.values) {
                assert!((x - y).abs() <= 1e-7 * x.abs().max(1.0), "{x} vs {y}");
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, &b),
        (a, b) => panic!("fast path {a:?}, serde_json {b:?}"),
    }
    match answer {
        Ok(s) => {
            assert!(s.samples >= 1 && s.samples <= 8);
            assert_eq!(s.values.len(), s.samples * 4);
            assert!(s.values.iter().all(|v| (0.0..=1.0).contains(v)));
        }
        Err(r) => assert!((400..500).contains(&r.status)),
    }
});
