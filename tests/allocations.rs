//! Zero heap allocations after warm-up (counted by `support/counting.rs`):
//! CPU training steps of W1 (MLP), W2 (deep MLP, whose products are large
//! enough to be split across threads) and W3 (LeNet-5), exactly as
//! `benches/workloads.rs` runs them, on one thread and on two; and
//! batch-1 inference of W4 and of LeNet through a `Predictor`.

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
