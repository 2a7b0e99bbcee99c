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
//! one process.

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

const THREADS: [usize; 2] = [1, 2];

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
}

fn train<M: Model<Cpu, Output = Rank1<10>>>(
    c: &mut Criterion,
    name: &str,
    batch_size: usize,
    make: impl Fn() -> M,
) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(batch_size as u64));
    for threads in THREADS {
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
    for threads in THREADS {
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
    for threads in THREADS {
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

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = w1, w2, w3, w4, resnet
}
criterion_main!(benches);
