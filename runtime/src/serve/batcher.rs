//! Concurrent requests batched into one forward pass.
//!
//! Handlers hand a [`Job`] to the [`Queue`]. Passes run in one of two
//! places:
//!
//! - **Worker threads** (`workers` > 0), each with its own layer state and
//!   sharing the network read-only: a worker takes the first waiting job,
//!   gathers more until the batch holds `max_batch` samples or `max_wait`
//!   has passed, runs one forward pass and answers every job from it. Right
//!   for networks whose pass is costly: connections are served while the
//!   workers compute.
//! - **Inline** (`workers` = 0): the handler that submits a job runs the
//!   pass itself, on its connection thread, for its job and every job that
//!   queued while another pass was running; one pass runs at a time. For a
//!   small network, handing each job to another thread and its answer back
//!   costs more than the pass (two wake-ups, each a futex and often an
//!   inter-processor interrupt): inline serving answered 20 to 40% more
//!   requests a second in `examples/loadtest` (BENCHMARKS.md). It blocks
//!   a connection thread for the pass, so it is for passes of well under a
//!   millisecond.
//!
//! Either way the queue is bounded in samples, not in jobs, so the memory
//! it can hold is known; a request that would overflow it is refused at
//! once (503) rather than queued.

use super::metrics::Metrics;
use crate::backend::Cpu;
use crate::layers::Layer;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The outputs for a job's samples, or why the forward pass failed.
pub(crate) type Answer = Result<Vec<f32>, String>;

/// Samples waiting for a forward pass, and where to send their outputs.
pub(crate) struct Job {
    pub values: Vec<f32>,
    pub samples: usize,
    pub reply: oneshot::Sender<Answer>,
}

/// Why a job was not queued.
pub(crate) enum Refused {
    /// The queue holds as many samples as it may.
    Full,
    /// The workers have stopped (the server is shutting down).
    Stopped,
}

/// The handlers' side of the queue.
#[derive(Clone)]
pub(crate) struct Queue {
    runner: Runner,
    pending: Arc<AtomicUsize>,
    capacity: usize,
}

#[derive(Clone)]
enum Runner {
    /// Worker threads take jobs from this channel.
    Workers(Sender<Job>),
    /// Submitters run the passes.
    Inline(Arc<Inline>),
}

/// Jobs waiting for an inline pass, and the pass.
struct Inline {
    waiting: Mutex<VecDeque<Job>>,
    /// Set while a submitter is running passes.
    running: AtomicBool,
    max_batch: usize,
    /// Runs one pass for the jobs given and answers them.
    pass: Box<dyn Fn(Vec<Job>) + Send + Sync>,
}

impl Queue {
    /// Queue `job` unless that would put more than `capacity` samples in
    /// the queue and in passes not yet answered.
    pub fn submit(&self, job: Job) -> Result<(), Refused> {
        let n = job.samples;
        self.pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                (p + n <= self.capacity).then_some(p + n)
            })
            .map_err(|_| Refused::Full)?;
        match &self.runner {
            Runner::Workers(tx) => tx.send(job).map_err(|_| {
                self.pending.fetch_sub(n, Ordering::AcqRel);
                Refused::Stopped
            }),
            Runner::Inline(inline) => {
                lock(&inline.waiting).push_back(job);
                inline.run_waiting(&self.pending);
                Ok(())
            }
        }
    }
}

/// A lock whose holder panicked is still usable: the queue's state is
/// consistent between its statements.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inline {
    /// Unless another submitter is running passes, run passes until no job
    /// waits.
    fn run_waiting(&self, pending: &AtomicUsize) {
        // Re-checked after letting go of `running`: a job queued just as
        // the last runner finished is not left waiting.
        while !lock(&self.waiting).is_empty()
            && self
                .running
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            /// Lets go of `running` even if a pass panics.
            struct Release<'a>(&'a AtomicBool);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    self.0.store(false, Ordering::Release);
                }
            }
            let _release = Release(&self.running);
            loop {
                let jobs = {
                    let mut waiting = lock(&self.waiting);
                    let mut samples = 0;
                    let mut jobs = Vec::new();
                    while let Some(job) = waiting.front() {
                        if !jobs.is_empty() && samples + job.samples > self.max_batch {
                            break;
                        }
                        samples += job.samples;
                        jobs.extend(waiting.pop_front());
                    }
                    jobs
                };
                if jobs.is_empty() {
                    break;
                }
                let samples: usize = jobs.iter().map(|j| j.samples).sum();
                (self.pass)(jobs);
                pending.fetch_sub(samples, Ordering::AcqRel);
            }
        }
    }
}

/// How workers form batches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batching {
    pub max_batch: usize,
    pub max_wait: Duration,
}

/// Start `workers` threads serving `model` (none for inline passes);
/// they stop once every [`Queue`] clone is dropped and the jobs already
/// queued are answered.
pub(crate) fn start<M>(
    model: Arc<M>,
    workers: usize,
    capacity: usize,
    batching: Batching,
    metrics: Arc<Metrics>,
) -> std::io::Result<(Queue, Vec<std::thread::JoinHandle<()>>)>
where
    M: Layer<Cpu> + 'static,
{
    let pending = Arc::new(AtomicUsize::new(0));
    let capacity = capacity.max(1);
    if workers == 0 {
        // One pass at a time, so one state, locked only by the runner.
        let state = Mutex::new(M::State::default());
        let pass = move |jobs: Vec<Job>| answer(&*model, &mut lock(&state), jobs, &metrics);
        let inline = Inline {
            waiting: Mutex::new(VecDeque::new()),
            running: AtomicBool::new(false),
            max_batch: batching.max_batch.max(1),
            pass: Box::new(pass),
        };
        let queue = Queue {
            runner: Runner::Inline(Arc::new(inline)),
            pending,
            capacity,
        };
        return Ok((queue, Vec::new()));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let rx = Arc::new(Mutex::new(rx));
    let handles = (0..workers)
        .map(|i| {
            let (model, rx, pending, metrics) = (
                Arc::clone(&model),
                Arc::clone(&rx),
                Arc::clone(&pending),
                Arc::clone(&metrics),
            );
            std::thread::Builder::new()
                .name(format!("staticnn-serve-{i}"))
                .spawn(move || work(&*model, &rx, &pending, batching, &metrics))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let queue = Queue {
        runner: Runner::Workers(tx),
        pending,
        capacity,
    };
    Ok((queue, handles))
}

/// The next batch of jobs, or `None` once the queue is closed and empty.
fn gather(rx: &Mutex<Receiver<Job>>, batching: Batching) -> Option<Vec<Job>> {
    // One worker gathers at a time; a panic elsewhere cannot poison the
    // receiver's state, so a poisoned lock is still usable.
    let rx = lock(rx);
    let first = rx.recv().ok()?;
    let mut samples = first.samples;
    let mut jobs = vec![first];
    let deadline = Instant::now() + batching.max_wait;
    while samples < batching.max_batch {
        // What is already waiting joins without delay; then wait for more
        // until the deadline.
        let next = match rx.try_recv() {
            Ok(job) => Ok(job),
            Err(_) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => rx.recv_timeout(left),
                _ => Err(RecvTimeoutError::Timeout),
            },
        };
        match next {
            Ok(job) => {
                samples += job.samples;
                jobs.push(job);
            }
            Err(_) => break,
        }
    }
    Some(jobs)
}

fn work<M: Layer<Cpu>>(
    model: &M,
    rx: &Mutex<Receiver<Job>>,
    pending: &AtomicUsize,
    batching: Batching,
    metrics: &Metrics,
) {
    let mut state = M::State::default();
    while let Some(jobs) = gather(rx, batching) {
        let samples: usize = jobs.iter().map(|j| j.samples).sum();
        answer(model, &mut state, jobs, metrics);
        pending.fetch_sub(samples, Ordering::AcqRel);
    }
}

/// One forward pass for `jobs`, and each job's answer sent.
fn answer<M: Layer<Cpu>>(model: &M, state: &mut M::State, jobs: Vec<Job>, metrics: &Metrics) {
    let in_size = <M::Input as Shape>::SIZE;
    let out_size = <M::Output as Shape>::SIZE;
    let samples: usize = jobs.iter().map(|j| j.samples).sum();
    metrics.batch(samples);
    let mut x = Vec::with_capacity(samples * in_size);
    for job in &jobs {
        x.extend_from_slice(&job.values);
    }
    // A panic in a layer is a bug, but it must not take the worker down
    // with the whole batch unanswered. Each job's outputs are copied once,
    // straight from the pass's output tensor.
    let forward = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let x = Tensor::<Cpu, M::Input>::from_vec(&Cpu, x).map_err(|e| e.to_string())?;
        let y = model.infer(&x, state).map_err(|e| e.to_string())?;
        let y = y.as_slice();
        let mut at = 0;
        Ok(jobs
            .iter()
            .map(|job| {
                let part = y[at * out_size..(at + job.samples) * out_size].to_vec();
                at += job.samples;
                part
            })
            .collect::<Vec<_>>())
    }));
    let outputs: Result<Vec<Vec<f32>>, String> = forward.unwrap_or_else(|_| {
        *state = M::State::default();
        Err("the forward pass panicked".to_string())
    });
    match outputs {
        Ok(parts) => {
            for (job, part) in jobs.into_iter().zip(parts) {
                // The client may have gone; its answer is simply dropped.
                let _ = job.reply.send(Ok(part));
            }
        }
        Err(e) => {
            for job in jobs {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}
