//! The four workloads of the benchmark suite (BENCHMARKS.md), at 1 and 2
//! threads:
//!
//! - W1 train: MLP 784-128-10, batch 64.
//! - W2 train: MLP 784-1000-500-250-10, batch 128.
//! - W3 train: LeNet-5, batch 64.
//! - W4 inference: W1's MLP, batch 1 (through a `Predictor`, the embedded
//!   path) and batch 256 (through `Layer::infer` with a reused state).
//!
//! and, outside the issue's set, `ResNet`: the `resnet` example's small
//! residual network, training at batch 64 (W3 is the `lenet` example's
//! network).
//!
//! A training step is forward, softmax cross-entropy, backward and an SGD
//! update (lr 0.05). Criterion reports samples per second ("elem/s") and
//! the time per batch.
//!
//! ```text
//! cargo bench --bench workloads            # all of them
//! cargo bench --bench workloads -- W1      # one
//! cargo bench --bench workloads -- ResNet
//! python3 scripts/compare.py               # against PyTorch and candle
//! ```
//!
//! Thread counts are set with a local rayon pool, so both runs happen in
//! one process; `STATICNN_BENCH_THREADS=1,16` picks other counts (the GPU
//! script compares the GPU with every core of its machine).
//!
//! Built with `--features cuda` on a machine with a GPU, the group `GPU`
//! times W1, W2, W3 and ResNet training on it (`GPU/W1`, ...): steps are
//! queued back to back and the time runs until the device has finished
//! them, with the loss left on the device as `fit` leaves it.
//! The GPU bundle (`scripts/gpu-bundle.sh`, then `run.sh` on the GPU
//! machine) runs these, the GPU tests and PyTorch on the same GPU.

#[path = "../examples/common/mod.rs"]
mod common;
#[path = "workloads/nets.rs"]
mod nets;

use common::ResNet;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nets::{batch, Trainer, W1Mlp, W2Mlp, W3LeNet};
use staticnn::prelude::*;
use std::hint::black_box;
use std::time::Duration;

/// Thread counts to run the CPU benchmarks at: `STATICNN_BENCH_THREADS`
/// (comma-separated), or 1 and 2.
fn threads() -> Vec<usize> {
    std::env::var("STATICNN_BENCH_THREADS")
        .ok()
        .map(|v| v.split(',').filter_map(|t| t.trim().parse().ok()).collect())
        .filter(|t: &Vec<usize>| !t.is_empty())
        .unwrap_or_else(|| vec![1, 2])
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
}

fn train<M: Model<Cpu, Output = Rank1<10>> + TrainsWith<Cpu, SoftmaxCrossEntropy>>(
    c: &mut Criterion,
    name: &str,
    batch_size: usize,
    make: impl Fn() -> M,
) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(batch_size as u64));
    for threads in threads() {
        let pool = pool(threads);
        let mut trainer = Trainer::new(make(), batch_size);
        group.bench_function(BenchmarkId::new("threads", threads), |b| {
            pool.install(|| b.iter(|| trainer.step()))
        });
    }
    group.finish();
}

fn w1(c: &mut Criterion) {
    train(c, "W1", 64, || W1Mlp::init(&Cpu, 1).unwrap());
}

fn w2(c: &mut Criterion) {
    train(c, "W2", 128, || W2Mlp::init(&Cpu, 1).unwrap());
}

fn w3(c: &mut Criterion) {
    train(c, "W3", 64, || W3LeNet::init(&Cpu, 1).unwrap());
}

fn resnet(c: &mut Criterion) {
    train(c, "ResNet", 64, || ResNet::init(&Cpu, 1).unwrap());
}

fn w4(c: &mut Criterion) {
    let net = W1Mlp::init(&Cpu, 1).unwrap();

    let (x, _) = batch::<Rank1<784>>(1);
    let sample = x.to_vec().unwrap();
    let mut group = c.benchmark_group("W4_b1");
    group.throughput(Throughput::Elements(1));
    for threads in threads() {
        let pool = pool(threads);
        let mut predictor = Predictor::new(&net).unwrap();
        group.bench_function(BenchmarkId::new("threads", threads), |b| {
            pool.install(|| b.iter(|| black_box(predictor.predict(black_box(&sample)).unwrap()[0])))
        });
    }
    group.finish();

    let (x, _) = batch::<Rank1<784>>(256);
    let mut group = c.benchmark_group("W4_b256");
    group.throughput(Throughput::Elements(256));
    for threads in threads() {
        let pool = pool(threads);
        let mut state = Default::default();
        group.bench_function(BenchmarkId::new("threads", threads), |b| {
            pool.install(|| {
                b.iter(|| {
                    net.infer(black_box(&x), &mut state).unwrap();
                })
            })
        });
    }
    group.finish();
}

#[cfg(feature = "cuda")]
fn gpu(c: &mut Criterion) {
    use staticnn::Cuda;
    let dev = match Cuda::new(0) {
        Ok(dev) => dev,
        Err(e) => {
            eprintln!("GPU benchmarks skipped: {e}");
            return;
        }
    };
    dev.warm_up().expect("the CUDA kernels compile");
    let mut group = c.benchmark_group("GPU");
    fn steps<M: Model<Cuda, Output = Rank1<10>> + TrainsWith<Cuda, SoftmaxCrossEntropy>>(
        group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        dev: &Cuda,
        name: &str,
        batch_size: usize,
        net: M,
    ) {
        group.throughput(Throughput::Elements(batch_size as u64));
        let mut trainer = Trainer::on(dev, net, batch_size);
        assert!(trainer.step().is_finite());
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    trainer.step_deferred();
                }
                dev.synchronize().expect("the GPU finishes");
                start.elapsed()
            })
        });
    }
    steps(&mut group, &dev, "W1", 64, W1Mlp::init(&dev, 1).unwrap());
    steps(&mut group, &dev, "W2", 128, W2Mlp::init(&dev, 1).unwrap());
    steps(&mut group, &dev, "W3", 64, W3LeNet::init(&dev, 1).unwrap());
    steps(
        &mut group,
        &dev,
        "ResNet",
        64,
        ResNet::init(&dev, 1).unwrap(),
    );
    group.finish();
}

#[cfg(not(feature = "cuda"))]
fn gpu(_: &mut Criterion) {}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = w1, w2, w3, w4, resnet, gpu
}
criterion_main!(benches);
