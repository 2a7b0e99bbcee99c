//! A global allocator that counts heap allocations, for the tests that
//! check that a path allocates nothing (`tests/allocations.rs`,
//! `tests/embedded.rs`). Including this module installs it.
//!
//! Allocations count on threads that opt in: a thread that calls
//! [`allocations`], and the workers of a [`counted_pool`]. The count is
//! shared by those threads, so a test that measures first takes
//! [`exclusive`], which keeps measuring tests of the same binary from
//! overlapping; the harness's own threads (which allocate to report
//! results) and tests that measure nothing are never counted.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

pub struct Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

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

/// Held for the whole of a measuring test. A failed test poisons nothing
/// for the others.
pub fn exclusive() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn count_this_thread() {
    COUNTED.with(|c| c.set(true));
}

/// Allocations on counted threads while `f` runs (this thread counts from
/// now on).
pub fn allocations(f: impl FnOnce()) -> usize {
    count_this_thread();
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

/// A rayon pool of `threads` workers whose allocations count.
pub fn counted_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(|_| {
            // A worker's first look for work registers it with the epoch
            // GC that rayon's deques use: one allocation, whenever the
            // worker first runs, which on a loaded machine can be in the
            // middle of a measurement. Register it before counting.
            drop(crossbeam_epoch::pin());
            count_this_thread()
        })
        // A worker of a dropped pool exits whenever it gets round to it,
        // maybe while another test counts: what its exit allocates must
        // not count there.
        .exit_handler(|_| COUNTED.with(|c| c.set(false)))
        .build()
        .expect("a rayon pool")
}
