//! Zero heap allocations after warm-up (counted by `support/counting.rs`):
//! CPU training steps of W1 (MLP), W2 (deep MLP, whose products are large
//! enough to be split across threads) and W3 (LeNet-5), exactly as
//! `benches/workloads.rs` runs them, on one thread and on two; and
//! batch-1 inference of W4 and of LeNet through a `Predictor`; and a
//! training step with a loss of the user's own (`PointwiseLoss`).

#[path = "../examples/common/mod.rs"]
mod common;
#[path = "support/counting.rs"]
mod counting;
#[path = "../benches/workloads/nets.rs"]
mod nets;

use counting::{allocations, counted_pool, exclusive};
use nets::{batch, Trainer, W1Mlp, W2Mlp, W3LeNet};
use staticnn::prelude::*;

/// Allocations in steps 2..=6 of training `net`, on `threads` threads.
fn training_allocations<M>(net: M, batch_size: usize, threads: usize) -> usize
where
    M: Model<Cpu, Output = Rank1<10>> + TrainsWith<Cpu, SoftmaxCrossEntropy>,
{
    counted_pool(threads).install(|| {
        let mut trainer = Trainer::new(net, batch_size);
        assert!(trainer.step().is_finite());
        allocations(|| {
            for _ in 0..5 {
                assert!(trainer.step().is_finite());
            }
        })
    })
}

/// CI runs this file once per CPU product path (`STATICNN_CPU`): the path
/// asked for must be the one in use, not a silent fallback.
#[test]
fn the_forced_cpu_path_is_the_one_used() {
    let used = staticnn::ops::gemm::cpu_path();
    eprintln!("CPU products: {}", used.name());
    if let Ok(want) = std::env::var("STATICNN_CPU") {
        assert_eq!(used.name(), want, "STATICNN_CPU={want} was not honoured");
    }
}

#[test]
fn the_counter_sees_allocations() {
    let _one = exclusive();
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8]))), 1);
    // On a counted pool's workers too.
    let on_worker = counted_pool(2).install(|| {
        allocations(|| {
            rayon::join(
                || drop(std::hint::black_box(vec![1u8])),
                || drop(std::hint::black_box(vec![2u8])),
            );
        })
    });
    assert_eq!(on_worker, 2);
}

#[test]
fn w1_training_step_allocates_nothing_after_the_first() {
    let _one = exclusive();
    for threads in [1, 2] {
        let n = training_allocations(W1Mlp::init(&Cpu, 1).unwrap(), 64, threads);
        assert_eq!(n, 0, "{threads} thread(s)");
    }
}

#[test]
fn w2_training_step_with_split_products_allocates_nothing() {
    let _one = exclusive();
    for threads in [1, 2] {
        let n = training_allocations(W2Mlp::init(&Cpu, 1).unwrap(), 128, threads);
        assert_eq!(n, 0, "{threads} thread(s)");
    }
}

#[test]
fn w3_training_step_allocates_nothing_after_the_first() {
    let _one = exclusive();
    for threads in [1, 2] {
        let n = training_allocations(W3LeNet::init(&Cpu, 1).unwrap(), 64, threads);
        assert_eq!(n, 0, "{threads} thread(s)");
    }
}

#[test]
fn w4_batch_one_inference_allocates_nothing() {
    let _one = exclusive();
    let net = W1Mlp::init(&Cpu, 1).unwrap();
    let lenet = W3LeNet::init(&Cpu, 1).unwrap();
    let (x, _) = batch::<Rank1<784>>(1);
    let sample = x.to_vec().unwrap();
    let mut predictor = Predictor::new(&net).unwrap();
    let mut conv = Predictor::new(&lenet).unwrap();
    let mut sink = 0usize;
    let counted = allocations(|| {
        for _ in 0..100 {
            sink += predictor.predict_class(&sample).unwrap();
            sink += conv.predict_class(&sample).unwrap();
        }
    });
    assert_eq!(counted, 0);
    assert!(sink < 2000);
}

/// A loss of the user's own through `PointwiseLoss` (it runs on the host)
/// keeps a CPU training step allocation-free too: its gradient vector is
/// kept from step to step.
#[test]
fn pointwise_loss_training_step_allocates_nothing_after_the_first() {
    use staticnn::loss::PointwiseLoss;
    use staticnn::train::{train_step, StepBuffers};

    struct Huber;
    impl PointwiseLoss for Huber {
        fn value(&self, pred: f32, target: f32) -> f32 {
            let d = (pred - target).abs();
            if d < 1.0 {
                0.5 * d * d
            } else {
                d - 0.5
            }
        }
        fn derivative(&self, pred: f32, target: f32) -> f32 {
            (pred - target).clamp(-1.0, 1.0)
        }
    }
    network! {
        struct Regressor: [4] { Dense(8), Relu, Dense(3) }
    }

    let _one = exclusive();
    let n = counted_pool(1).install(|| {
        let mut net = Regressor::init(&Cpu, 0).unwrap();
        let mut opt = Sgd::new(0.01);
        let mut buffers = StepBuffers::new(&net, &Cpu).unwrap();
        let mut ctx = TrainCtx::new(0);
        let x = Tensor::<Cpu, Rank1<4>>::from_vec(&Cpu, vec![0.5; 4 * 16]).unwrap();
        let y = Tensor::<Cpu, Rank1<3>>::from_vec(&Cpu, vec![2.0; 3 * 16]).unwrap();
        let mut step = || {
            let loss = train_step(&mut net, &mut opt, &Huber, &x, &y, &mut buffers, &mut ctx);
            assert!(loss.unwrap().is_finite());
        };
        step();
        allocations(|| (0..5).for_each(|_| step()))
    });
    assert_eq!(n, 0);
}
