//! Single-product rates (GFLOP/s) of the CPU matrix product on the shapes
//! the benchmark workloads make (BENCHMARKS.md):
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo bench --bench gemm
//! ```

use staticnn::ops::gemm::{GemmOp, Product};
use staticnn::prelude::*;
use std::time::Instant;

fn main() {
    // (m, n, k, A transposed, B transposed, what it is)
    let shapes = [
        (64, 128, 784, false, true, "W1 forward"),
        (128, 784, 64, true, false, "W1 weight gradient"),
        (64, 128, 10, false, false, "W1 input gradient, layer 2"),
        (128, 1000, 784, false, true, "W2 forward, layer 1"),
        (1000, 784, 128, true, false, "W2 weight gradient, layer 1"),
        (128, 1000, 500, false, false, "W2 input gradient, layer 2"),
        (256, 128, 784, false, true, "W4 batch 256"),
        (1, 128, 784, false, true, "W4 batch 1"),
    ];
    let mut rng = staticnn::Rng::new(1);
    for (m, n, k, ta, tb, what) in shapes {
        let a: Vec<f32> = (0..m * k).map(|_| rng.uniform()).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.uniform()).collect();
        let mut c = vec![0.0f32; m * n];
        let mut run = || {
            Cpu.gemm(
                Product::new(m, n, k).transpose_a(ta).transpose_b(tb),
                &a,
                &b,
                &mut c,
            )
            .unwrap()
        };
        (0..20).for_each(|_| run());
        let iters = (2e9 / (2 * m * n * k) as f64).max(20.0) as usize;
        let start = Instant::now();
        (0..iters).for_each(|_| run());
        let secs = start.elapsed().as_secs_f64() / iters as f64;
        println!(
            "{what:<28} {m}x{n}x{k} (A^T {ta}, B^T {tb}): {:>8.1} us, {:>6.1} GFLOP/s",
            secs * 1e6,
            (2 * m * n * k) as f64 / secs / 1e9
        );
    }
}
