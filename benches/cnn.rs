//! Training throughput of the convolutional networks of the `lenet` and
//! `resnet` examples, on 1 and 2 threads.
//!
//! ```text
//! cargo bench --bench cnn
//! ```
//!
//! Criterion reports samples per second ("elem/s") for one training step
//! (forward, softmax cross-entropy, backward, SGD update) on a batch of 64
//! synthetic 28x28 images with fixed seeds. Thread counts are set with a
//! local rayon pool, so both runs happen in one process.

#[path = "../examples/common/mod.rs"]
mod common;

use common::{LeNet, ResNet};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use staticnn::prelude::*;
use staticnn::train::{train_step, StepBuffers};
use staticnn::Rng;

const BATCH: usize = 64;

fn batch() -> (Tensor<Cpu, Rank3<1, 28, 28>>, Tensor<Cpu, ClassIndex>) {
    let mut rng = Rng::new(5);
    let x: Vec<f32> = (0..BATCH * 784).map(|_| rng.uniform()).collect();
    let y: Vec<f32> = (0..BATCH).map(|i| (i % 10) as f32).collect();
    (
        Tensor::from_vec(&Cpu, x).unwrap(),
        Tensor::from_vec(&Cpu, y).unwrap(),
    )
}

fn train<M: Model<Cpu, Input = Rank3<1, 28, 28>, Output = Rank1<10>>>(
    c: &mut Criterion,
    name: &str,
    mut net: M,
) {
    let (x, y) = batch();
    let mut group = c.benchmark_group(format!("{name}_train_b{BATCH}"));
    group.throughput(Throughput::Elements(BATCH as u64));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut opt = Sgd::new(0.01);
        let mut buffers = StepBuffers::new(&net, &Cpu).unwrap();
        let mut ctx = TrainCtx::new(0);
        group.bench_function(BenchmarkId::new("threads", threads), |b| {
            pool.install(|| {
                b.iter(|| {
                    train_step(
                        &mut net,
                        &mut opt,
                        &SoftmaxCrossEntropy,
                        &x,
                        &y,
                        &mut buffers,
                        &mut ctx,
                    )
                    .unwrap()
                })
            })
        });
    }
    group.finish();
}

fn lenet(c: &mut Criterion) {
    train(c, "lenet", LeNet::init(&Cpu, 1).unwrap());
}

fn resnet(c: &mut Criterion) {
    train(c, "resnet", ResNet::init(&Cpu, 1).unwrap());
}

criterion_group!(benches, lenet, resnet);
criterion_main!(benches);
