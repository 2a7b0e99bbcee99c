//! CSV datasets, plain or gzipped: loaded (every value finite, labels
//! whole numbers in range) or refused with a short message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use staticnn::data::csv::{self, CsvOptions};
use staticnn::{ClassIndex, Dataset, Rank1};

fuzz_target!(|bytes: &[u8]| {
    let opts = CsvOptions {
        classes: Some(10),
        ..CsvOptions::default()
    };
    match csv::from_bytes::<Rank1<3>, ClassIndex>(bytes, "fuzz.csv", opts) {
        Ok(d) => {
            let d: Dataset<Rank1<3>, ClassIndex> = d;
            assert!(d.inputs().iter().all(|v| v.is_finite()));
            assert!(d
                .targets()
                .iter()
                .all(|&l| (0.0..10.0).contains(&l) && l.fract() == 0.0));
        }
        Err(e) => assert!(e.to_string().len() < 400, "a long message: {e}"),
    }
    let _ = csv::from_bytes::<Rank1<2>, Rank1<2>>(bytes, "fuzz.csv", CsvOptions::default());
});
