//! The networks, synthetic batches and training loop of the benchmark
//! workloads (issue 5), shared by `benches/workloads.rs` and
//! `tests/allocations.rs` so that the allocation test measures exactly
//! what is benchmarked.
//!
//! The including crate must also include `examples/common/mod.rs` as
//! `common`: W3 is the `lenet` example's network, and the ResNet group is
//! the `resnet` example's (`common::ResNet`).
#![allow(dead_code)]

use staticnn::prelude::*;
use staticnn::train::{train_step, StepBuffers};
use staticnn::Rng;

pub use crate::common::LeNet as W3LeNet;

network! {
    /// W1 and W4: the MLP 784-128-10.
    pub struct W1Mlp: [784] {
        fc1: Dense(128), Relu,
        fc2: Dense(10),
    }

    /// W2: the deep MLP 784-1000-500-250-10.
    pub struct W2Mlp: [784] {
        fc1: Dense(1000), Relu,
        fc2: Dense(500), Relu,
        fc3: Dense(250), Relu,
        fc4: Dense(10),
    }
}

/// Learning rate of every training workload.
pub const LR: f32 = 0.05;

/// A batch of `n` synthetic samples: inputs uniform in [0, 1), labels
/// `0..9` in turn, from a fixed seed.
pub fn batch<X: Shape>(n: usize) -> (Tensor<Cpu, X>, Tensor<Cpu, ClassIndex>) {
    let mut rng = Rng::new(7);
    let x: Vec<f32> = (0..n * X::SIZE).map(|_| rng.uniform()).collect();
    let y: Vec<f32> = (0..n).map(|i| (i % 10) as f32).collect();
    (
        Tensor::from_vec(&Cpu, x).expect("batch length is n * X::SIZE"),
        Tensor::from_vec(&Cpu, y).expect("label length is n"),
    )
}

/// A training workload: a network, its synthetic batch, SGD and the
/// buffers a step reuses. Each [`step`](Trainer::step) is forward, softmax
/// cross-entropy, backward and the update.
pub struct Trainer<M: Model<Cpu>> {
    net: M,
    x: Tensor<Cpu, M::Input>,
    y: Tensor<Cpu, ClassIndex>,
    opt: Sgd<Cpu>,
    buffers: StepBuffers<Cpu, M>,
    ctx: TrainCtx,
}

impl<M: Model<Cpu, Output = Rank1<10>>> Trainer<M> {
    pub fn new(net: M, batch_size: usize) -> Self {
        let (x, y) = batch::<M::Input>(batch_size);
        let buffers = StepBuffers::new(&net, &Cpu).expect("step buffers");
        Trainer {
            net,
            x,
            y,
            opt: Sgd::new(LR),
            buffers,
            ctx: TrainCtx::new(0),
        }
    }

    /// One training step; returns the batch's loss.
    pub fn step(&mut self) -> f32 {
        train_step(
            &mut self.net,
            &mut self.opt,
            &SoftmaxCrossEntropy,
            &self.x,
            &self.y,
            &mut self.buffers,
            &mut self.ctx,
        )
        .expect("a training step")
    }
}
