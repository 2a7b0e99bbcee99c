//! Zero heap allocations after warm-up, counted by a global allocator that
//! wraps the system one: a CPU training step of W1 (MLP) and of W3
//! (LeNet-5), and batch-1 inference of W4, exactly as `benches/workloads.rs`
//! runs them, on one thread and on two.
//!
//! Allocations are counted on threads that opt in: the test's own thread
//! and the workers of the rayon pool it builds. The counter is shared
//! across those threads, so the tests in this file take a lock and never
//! overlap; the harness's own threads (which allocate to report results)
//! are not counted.

#[path = "../benches/workloads/nets.rs"]
mod nets;

use nets::{batch, W1Mlp, W3LeNet, LR};
use staticnn::prelude::*;
use staticnn::train::{train_step, StepBuffers};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether this thread's allocations count.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts this thread's allocations from now on.
fn count_this_thread() {
    COUNTED.with(|c| c.set(true));
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

/// Allocations on counted threads while `f` runs.
fn allocations(f: impl FnOnce()) -> usize {
    count_this_thread();
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

/// Allocations in steps 2..=11 of training `net`, on `threads` threads.
fn training_allocations<M>(net: &mut M, batch_size: usize, threads: usize) -> usize
where
    M: Model<Cpu, Output = Rank1<10>>,
{
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(|_| count_this_thread())
        .build()
        .unwrap();
    let (x, y) = batch::<M::Input>(batch_size);
    let mut opt = Sgd::new(LR);
    let mut buffers = StepBuffers::new(net, &Cpu).unwrap();
    let mut ctx = TrainCtx::new(0);
    pool.install(|| {
        let mut step = || {
            let loss = train_step(
                net,
                &mut opt,
                &SoftmaxCrossEntropy,
                &x,
                &y,
                &mut buffers,
                &mut ctx,
            )
            .unwrap();
            assert!(loss.is_finite());
        };
        step();
        allocations(|| (0..10).for_each(|_| step()))
    })
}

#[test]
fn w1_training_step_allocates_nothing_after_the_first() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    // The counter does see allocations.
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8]))), 1);
    for threads in [1, 2] {
        let mut net = W1Mlp::init(&Cpu, 1).unwrap();
        assert_eq!(
            training_allocations(&mut net, 64, threads),
            0,
            "{threads} thread(s)"
        );
    }
}

#[test]
fn w3_training_step_allocates_nothing_after_the_first() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    for threads in [1, 2] {
        let mut net = W3LeNet::init(&Cpu, 1).unwrap();
        assert_eq!(
            training_allocations(&mut net, 64, threads),
            0,
            "{threads} thread(s)"
        );
    }
}

#[test]
fn w4_batch_one_inference_allocates_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    let net = W1Mlp::init(&Cpu, 1).unwrap();
    let (x, _) = batch::<Rank1<784>>(1);
    let sample = x.to_vec().unwrap();
    let mut predictor = Predictor::new(&net).unwrap();
    let mut sink = 0usize;
    let counted = allocations(|| {
        for _ in 0..100 {
            sink += predictor.predict_class(&sample).unwrap();
        }
    });
    assert_eq!(counted, 0);
    assert!(sink < 1000);
}
