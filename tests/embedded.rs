//! The embedded-inference path: one sample at a time through a
//! `Predictor`, with no heap allocation after the first call (counted by a
//! global allocator that wraps the system one), and the same answers as a
//! batched forward pass.

#[path = "../examples/common/mod.rs"]
mod common;

use common::{LeNet, Mlp};
use staticnn::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    /// Allocations made by this thread. Per thread, because the test
    /// harness runs other tests (which allocate) at the same time.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: forwards to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract is passed through unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

network! {
    /// An MLP ending in Softmax, so the predictor returns probabilities.
    struct Classifier: [784] { fc1: Dense(128), Relu, Dropout(0.2), fc2: Dense(10), Softmax }
}

#[test]
fn single_sample_inference_allocates_nothing_after_the_first_call() {
    let digits = common::bundled::<Rank1<784>>().unwrap();
    let net = Classifier::init(&Cpu, 3).unwrap();
    let mlp = Mlp::init(&Cpu, 4).unwrap();
    let mut predictor = Predictor::new(&net).unwrap();
    let mut plain = Predictor::new(&mlp).unwrap();
    let mut sink = 0.0f32;
    let counted = allocations(|| {
        for i in 0..200 {
            let x = digits.get(i).unwrap().0;
            sink += predictor.predict(x).unwrap()[3];
            sink += plain.predict_class(x).unwrap() as f32;
        }
    });
    // The counter does see allocations.
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8]))), 1);
    assert_eq!(counted, 0, "allocations in 400 predictions");
    assert!(sink.is_finite());
}

#[test]
fn predictions_match_the_batched_forward_pass() {
    let digits = common::bundled::<Rank1<784>>().unwrap();
    let net = Classifier::init(&Cpu, 5).unwrap();
    let x = Tensor::<Cpu, Rank1<784>>::from_slice(&Cpu, &digits.inputs()[..20 * 784]).unwrap();
    let batched = net.forward(&x).unwrap();
    let mut predictor = Predictor::new(&net).unwrap();
    for i in 0..20 {
        let one = predictor.predict(digits.get(i).unwrap().0).unwrap();
        for (a, b) in one.iter().zip(batched.sample(i)) {
            assert!((a - b).abs() < 1e-6, "sample {i}: {a} vs {b}");
        }
    }
    // Convolutional networks take the same path (their matrix products
    // still allocate packing space inside matrixmultiply).
    let lenet = LeNet::init(&Cpu, 6).unwrap();
    let class = Predictor::new(&lenet)
        .unwrap()
        .predict_class(digits.get(0).unwrap().0)
        .unwrap();
    assert!(class < 10);
}

#[test]
fn a_sample_of_the_wrong_length_is_an_error() {
    let net = Classifier::init(&Cpu, 0).unwrap();
    let mut predictor = Predictor::new(&net).unwrap();
    let err = predictor.predict(&[0.5; 783]).unwrap_err().to_string();
    assert!(err.contains("784 values, but 783 were given"), "{err}");
}
