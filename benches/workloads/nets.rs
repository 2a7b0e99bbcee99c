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
use staticnn::train::{train_step, train_step_deferred, StepBuffers};
use staticnn::Rng;

// Not every includer uses W3 (the GPU tests name LeNet directly).
#[allow(unused_imports)]
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
/// buffers a step reuses, on any device. Each [`step`](Trainer::step) is
/// forward, softmax cross-entropy, backward and the update.
pub struct Trainer<B: Backend, M: Model<B>> {
    net: M,
    x: Tensor<B, M::Input>,
    y: Tensor<B, ClassIndex>,
    opt: Sgd<B>,
    buffers: StepBuffers<B, M>,
    ctx: TrainCtx,
}

impl<M: Model<Cpu, Output = Rank1<10>> + TrainsWith<Cpu, SoftmaxCrossEntropy>> Trainer<Cpu, M> {
    /// A CPU workload.
    pub fn new(net: M, batch_size: usize) -> Self {
        Trainer::on(&Cpu, net, batch_size)
    }
}

impl<B: Backend, M: Model<B, Output = Rank1<10>> + TrainsWith<B, SoftmaxCrossEntropy>>
    Trainer<B, M>
{
    /// A workload on `dev` (the network must already be there).
    pub fn on(dev: &B, net: M, batch_size: usize) -> Self {
        let (x, y) = batch::<M::Input>(batch_size);
        let buffers = StepBuffers::new(&net, dev).expect("step buffers");
        Trainer {
            net,
            x: x.to_device(dev).expect("batch on the device"),
            y: y.to_device(dev).expect("labels on the device"),
            opt: Sgd::new(LR),
            buffers,
            ctx: TrainCtx::new(0),
        }
    }

    /// One training step; returns the batch's loss (which waits for the
    /// device).
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

    /// One training step that reads nothing back: on a GPU, only queued.
    pub fn step_deferred(&mut self) {
        train_step_deferred(
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
