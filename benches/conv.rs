//! Rates (GFLOP/s) of the CPU convolution kernels, forward and backward, on
//! each convolution of W3 (LeNet) and W5 (the small ResNet) at batch 64,
//! so that a change to one kernel path is measured on the layers it serves
//! (BENCHMARKS.md):
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo bench --bench conv
//! STATICNN_CPU=avx2 RAYON_NUM_THREADS=1 cargo bench --bench conv
//! RAYON_NUM_THREADS=1 cargo bench --bench conv -- downsample   # one layer
//! ```
//!
//! The backward pass computes the input gradient except for a network's
//! first layer (whose input needs none), as training does. Then W3's max
//! pooling and W5's batch normalisation (in training), forward and
//! backward.

use staticnn::ops::batch_norm::{BatchNormOp, NormGeom, Running, Stats};
use staticnn::ops::conv::ConvOp;
use staticnn::ops::pool::PoolOp;
use staticnn::ops::window::{out_len, Geom2d};
use staticnn::prelude::*;
use std::time::Instant;

/// A convolution of `batch` images: `(in_c, size)` in, `out_c` out.
fn geom(in_c: usize, size: usize, out_c: usize, k: usize, stride: usize, pad: usize) -> Geom2d {
    let out = out_len(size, k, stride, pad).expect("a valid shape");
    Geom2d {
        batch: 64,
        in_c,
        in_h: size,
        in_w: size,
        out_c,
        out_h: out,
        out_w: out,
        kernel: (k, k),
        stride: (stride, stride),
        padding: (pad, pad),
    }
}

/// Seconds per call of `f`, the best of a few timed runs of about 0.2 s.
fn time(mut f: impl FnMut()) -> f64 {
    (0..3).for_each(|_| f());
    let start = Instant::now();
    f();
    let once = start.elapsed().as_secs_f64().max(1e-7);
    let iters = ((0.2 / once) as usize).clamp(3, 10_000);
    (0..3)
        .map(|_| {
            let start = Instant::now();
            (0..iters).for_each(|_| f());
            start.elapsed().as_secs_f64() / iters as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    // Inside a pool, as the workloads bench runs: a parallel op called from
    // outside one hands its work to the pool's threads and waits, a
    // context switch per call. Threads: RAYON_NUM_THREADS.
    rayon::ThreadPoolBuilder::new()
        .build()
        .expect("a rayon pool")
        .install(run);
}

fn run() {
    // (workload, layer, geometry, whether the layer's input needs a gradient)
    let layers = [
        ("W3", "conv1 1->6 5x5 pad 2", geom(1, 28, 6, 5, 1, 2), false),
        ("W3", "conv2 6->16 5x5", geom(6, 14, 16, 5, 1, 0), true),
        ("W5", "conv1 1->16 3x3 s2", geom(1, 28, 16, 3, 2, 1), false),
        (
            "W5",
            "layer1 16->16 3x3 (x2)",
            geom(16, 14, 16, 3, 1, 1),
            true,
        ),
        (
            "W5",
            "layer2.conv1 16->32 3x3 s2",
            geom(16, 14, 32, 3, 2, 1),
            true,
        ),
        (
            "W5",
            "layer2.conv2 32->32 3x3",
            geom(32, 7, 32, 3, 1, 1),
            true,
        ),
        (
            "W5",
            "downsample 16->32 1x1 s2",
            geom(16, 14, 32, 1, 2, 0),
            true,
        ),
    ];
    // `cargo bench --bench conv -- NAME` times only the layers whose name
    // holds NAME (to profile one).
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wanted = |what: &str| filter.as_deref().is_none_or(|f| what.contains(f));
    let mut rng = staticnn::Rng::new(1);
    let mut fill = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform() - 0.5).collect() };
    println!(
        "{:<4} {:<28} {:>10} {:>8} {:>10} {:>8}",
        "", "layer", "fwd us", "GFLOP/s", "bwd us", "GFLOP/s"
    );
    for (workload, what, g, want_dx) in layers {
        if !wanted(what) {
            continue;
        }
        let x = fill(g.in_len());
        let w = fill(g.out_c * g.patch());
        let dy = fill(g.out_len());
        let (mut y, mut dx) = (vec![0.0; g.out_len()], vec![0.0; g.in_len()]);
        let (mut dw, mut cols, mut work) = (vec![0.0; w.len()], Vec::new(), Vec::new());
        let fwd = time(|| {
            Cpu.conv2d_forward(&g, &x, &w, None, &mut y, &mut cols, true)
                .expect("forward")
        });
        let bwd = time(|| {
            let dx = want_dx.then_some(&mut dx);
            Cpu.conv2d_backward(&g, &x, &cols, &w, &dy, dx, &mut dw, None, &mut work)
                .expect("backward")
        });
        let flop = (2 * g.out_len() * g.patch()) as f64;
        let passes = if want_dx { 2.0 } else { 1.0 };
        println!(
            "{workload:<4} {what:<28} {:>10.1} {:>8.1} {:>10.1} {:>8.1}",
            fwd * 1e6,
            flop / fwd / 1e9,
            bwd * 1e6,
            passes * flop / bwd / 1e9
        );
    }
    for (what, g) in [
        ("pool 6x28x28 2x2", geom(6, 28, 6, 2, 2, 0)),
        ("pool 16x10x10 2x2", geom(16, 10, 16, 2, 2, 0)),
    ] {
        if !wanted(what) {
            continue;
        }
        // ReLU's output, as in LeNet: many ties at zero.
        let x: Vec<f32> = fill(g.in_len()).iter().map(|v| v.max(0.0)).collect();
        let dy = fill(g.out_len());
        let (mut y, mut dx, mut scratch) =
            (vec![0.0; g.out_len()], vec![0.0; g.in_len()], Vec::new());
        let fwd = time(|| Cpu.max_pool2d_forward(&g, &x, &mut y).expect("pool"));
        let bwd = time(|| {
            Cpu.max_pool2d_backward(&g, &x, &y, &dy, &mut dx, &mut scratch)
                .expect("pool backward")
        });
        println!(
            "W3   {what:<28} {:>10.1} {:>8} {:>10.1}",
            fwd * 1e6,
            "",
            bwd * 1e6
        );
    }
    for (what, channels, spatial) in [("bn 16x14x14", 16, 196), ("bn 32x7x7", 32, 49)] {
        if !wanted(what) {
            continue;
        }
        let g = NormGeom {
            batch: 64,
            channels,
            spatial,
        };
        let (x, dy) = (fill(g.len()), fill(g.len()));
        let (gamma, beta) = (vec![1.0; channels], vec![0.0; channels]);
        let (mut rm, mut rv) = (vec![0.0; channels], vec![1.0; channels]);
        let (mut mean, mut inv_std) = (vec![0.0; channels], vec![0.0; channels]);
        let (mut y, mut dx) = (vec![0.0; g.len()], vec![0.0; g.len()]);
        let (mut dg, mut db) = (vec![0.0; channels], vec![0.0; channels]);
        let fwd = time(|| {
            let running = Running {
                mean: &mut rm,
                var: &mut rv,
                momentum: 0.1,
            };
            Cpu.batch_norm_train(
                &g,
                1e-5,
                &x,
                &gamma,
                &beta,
                &mut y,
                &mut mean,
                &mut inv_std,
                running,
            )
            .expect("batch norm")
        });
        let bwd = time(|| {
            let stats = Stats::Batch {
                mean: &mean,
                inv_std: &inv_std,
            };
            Cpu.batch_norm_backward(&g, &x, &gamma, stats, &dy, &mut dx, &mut dg, &mut db)
                .expect("batch norm backward")
        });
        println!(
            "W5   {what:<28} {:>10.1} {:>8} {:>10.1}",
            fwd * 1e6,
            "",
            bwd * 1e6
        );
    }
}
