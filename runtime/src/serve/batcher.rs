//! Concurrent requests batched into one forward pass.
//!
//! Handlers hand a [`Job`] to the [`Queue`]; worker threads (each with its
//! own layer state, sharing the network read-only) take the first waiting
//! job, gather more until the batch holds `max_batch` samples or
//! `max_wait` has passed, run one forward pass and answer every job from
//! it. The queue is bounded in samples, not in jobs, so the memory it can
//! hold is known; a request that would overflow it is refused at once
//! (503) rather than queued.

use super::metrics::Metrics;
use crate::backend::Cpu;
use crate::layers::Layer;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    tx: Sender<Job>,
    pending: Arc<AtomicUsize>,
    capacity: usize,
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
        self.tx.send(job).map_err(|_| {
            self.pending.fetch_sub(n, Ordering::AcqRel);
            Refused::Stopped
        })
    }
}

/// How workers form batches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batching {
    pub max_batch: usize,
    pub max_wait: Duration,
}

/// Start `workers` threads serving `model`; they stop once every
/// [`Queue`] clone is dropped and the jobs already queued are answered.
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
    let (tx, rx) = std::sync::mpsc::channel();
    let rx = Arc::new(Mutex::new(rx));
    let pending = Arc::new(AtomicUsize::new(0));
    let handles = (0..workers.max(1))
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
        tx,
        pending,
        capacity: capacity.max(1),
    };
    Ok((queue, handles))
}

/// The next batch of jobs, or `None` once the queue is closed and empty.
fn gather(rx: &Mutex<Receiver<Job>>, batching: Batching) -> Option<Vec<Job>> {
    // One worker gathers at a time; a panic elsewhere cannot poison the
    // receiver's state, so a poisoned lock is still usable.
    let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
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
    let in_size = <M::Input as Shape>::SIZE;
    let out_size = <M::Output as Shape>::SIZE;
    while let Some(jobs) = gather(rx, batching) {
        let samples: usize = jobs.iter().map(|j| j.samples).sum();
        metrics.batch(samples);
        let mut x = Vec::with_capacity(samples * in_size);
        for job in &jobs {
            x.extend_from_slice(&job.values);
        }
        // A panic in a layer is a bug, but it must not take the worker
        // down with the whole batch unanswered. Each job's outputs are
        // copied once, straight from the pass's output tensor.
        let forward = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let x = Tensor::<Cpu, M::Input>::from_vec(&Cpu, x).map_err(|e| e.to_string())?;
            let y = model.infer(&x, &mut state).map_err(|e| e.to_string())?;
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
            state = M::State::default();
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
        pending.fetch_sub(samples, Ordering::AcqRel);
    }
}
