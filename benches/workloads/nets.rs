//! The networks and synthetic batches of the four benchmark workloads
//! (issue 5), shared by `benches/workloads.rs` and `tests/allocations.rs`
//! so that the allocation test measures exactly what is benchmarked.
#![allow(dead_code)]

use staticnn::prelude::*;
use staticnn::Rng;

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

    /// W3: LeNet-5 as the issue gives it.
    pub struct W3LeNet: [1, 28, 28] {
        conv1: Conv2d(6, kernel = 5, padding = 2), Relu, MaxPool2d(2),
        conv2: Conv2d(16, kernel = 5), Relu, MaxPool2d(2),
        Flatten,
        fc1: Dense(120), Relu,
        fc2: Dense(84), Relu,
        fc3: Dense(10),
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
