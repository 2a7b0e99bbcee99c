//! Weights files: any bytes either load (every value finite, shapes right)
//! or are refused with the network left exactly as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use staticnn::prelude::*;
use std::sync::OnceLock;

network! {
    struct Net: [4] { fc: Dense(3), bn: BatchNorm, Relu, out: Dense(2) }
}

fn values(net: &Net<Cpu>) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    let _ = net.visit_params("", &mut |_, p| {
        out.push(p.to_vec()?);
        Ok(())
    });
    out
}

fuzz_target!(|bytes: &[u8]| {
    static BEFORE: OnceLock<Vec<Vec<f32>>> = OnceLock::new();
    let mut net = Net::init(&Cpu, 1).unwrap();
    let before = BEFORE.get_or_init(|| values(&net));
    match staticnn::io::load_bytes(&mut net, bytes, "fuzz") {
        Ok(()) => assert!(values(&net).iter().flatten().all(|v| v.is_finite())),
        Err(_) => assert_eq!(&values(&net), before, "a failed load changed the network"),
    }
});
