//! The server itself: configuration, start-up, and shutdown.

use super::{batcher, connection, metrics, request, routes};
use crate::backend::Cpu;
use crate::data::Standardizer;
use crate::layers::Layer;
use crate::shape::Shape;
use crate::{Error, Result};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where log lines go: one per request, without headers or raw paths.
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// What the network's outputs mean to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Logits of classes: answered with the class (and its label, when
    /// given) and softmax probabilities.
    Classes {
        /// A name for each class, in order.
        labels: Option<Vec<String>>,
    },
    /// Any other output: answered as the raw values.
    Values,
}

/// How to serve. `ServeConfig::default()` listens on `127.0.0.1:8080`.
#[derive(Clone)]
pub struct ServeConfig {
    /// `HOST:PORT` to listen on; port 0 picks a free one.
    pub addr: String,
    /// Threads running forward passes (default: the number of cores).
    /// 0 runs each pass on the connection thread of a request that is
    /// waiting for it, one pass at a time, batching what queues meanwhile:
    /// for networks whose pass takes well under a millisecond (the digit
    /// MLP), it answers 20 to 40% more requests a second, since no request
    /// is handed to another thread and back.
    pub workers: usize,
    /// Threads handling connections (default 2).
    pub io_threads: usize,
    /// The most samples in one forward pass (default 64).
    pub max_batch: usize,
    /// How long a batch waits for more requests after its first (default
    /// 0: requests that arrive while the workers are busy are batched,
    /// and none waits for company).
    pub max_wait: Duration,
    /// The most samples queued or in a forward pass; beyond it, 503
    /// (default 1024).
    pub queue: usize,
    /// The most samples in one request (default 256).
    pub max_request_samples: usize,
    /// The largest request body in bytes (default: room for
    /// `max_request_samples` samples written out at length, at least
    /// 64 KiB).
    pub max_body_bytes: Option<usize>,
    /// Time for a client to send a request's headers (default 10 s).
    pub header_timeout: Duration,
    /// Time for a request's body and answer (default 10 s).
    pub request_timeout: Duration,
    /// A connection with no request for this long is closed (default
    /// 30 s).
    pub idle_timeout: Duration,
    /// Connections open at once; more wait to be accepted (default 512).
    pub max_connections: usize,
    /// Time for requests in flight to finish on shutdown (default 10 s).
    pub shutdown_grace: Duration,
    /// When set, every route but `/health` and `/` needs
    /// `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// The range every input value must lie in (for pixels, `(0.0, 1.0)`).
    pub input_range: Option<(f32, f32)>,
    /// What the outputs mean (default: class logits).
    pub output: Output,
    /// The weights file, reported with its SHA-256 by `GET /model`.
    pub weights: Option<PathBuf>,
    /// Applied to every sample before the network sees it (after the
    /// `input_range` check, which is on the values as sent): the
    /// standardiser the network was trained behind, from
    /// [`Standardizer::load`] on its weights file.
    pub standardizer: Option<Standardizer>,
    /// Serve the drawing page at `GET /` (only for 784-value inputs;
    /// default true).
    pub page: bool,
    /// Where to log each request (default: standard error).
    pub log: Option<LogSink>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            addr: "127.0.0.1:8080".into(),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            io_threads: 2,
            max_batch: 64,
            max_wait: Duration::ZERO,
            queue: 1024,
            max_request_samples: 256,
            max_body_bytes: None,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(10),
            token: None,
            input_range: None,
            output: Output::Classes { labels: None },
            weights: None,
            standardizer: None,
            page: true,
            log: Some(Arc::new(|line| eprintln!("{line}"))),
        }
    }
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("addr", &self.addr)
            .field("workers", &self.workers)
            .field("max_batch", &self.max_batch)
            .field("max_wait", &self.max_wait)
            .field("queue", &self.queue)
            // Never the token itself.
            .field("token", &self.token.as_ref().map(|_| "(set)"))
            .finish_non_exhaustive()
    }
}

pub(crate) fn serve_error(why: impl Into<String>) -> Error {
    Error::Serve { why: why.into() }
}

/// The SHA-256 of a file, in hex.
fn sha256(path: &std::path::Path) -> Result<String> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A server running on its own threads; [`shutdown`](Running::shutdown)
/// or drop it to stop.
pub struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl Running {
    /// The address it listens on (with the port chosen, for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, let requests in flight finish (within the grace
    /// period), and wait for every thread.
    pub fn shutdown(mut self) -> Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(serve_error("the server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

/// Everything prepared before serving: the listener is bound, so that a
/// busy port is an error from [`spawn`] or [`run`] itself.
struct Prepared {
    listener: std::net::TcpListener,
    app: Arc<routes::App>,
    workers: Vec<std::thread::JoinHandle<()>>,
    config: ServeConfig,
}

fn prepare<M>(model: Arc<M>, config: ServeConfig) -> Result<Prepared>
where
    M: Layer<Cpu> + 'static,
{
    let in_size = <M::Input as Shape>::SIZE;
    let out_size = <M::Output as Shape>::SIZE;
    if let Some(s) = &config.standardizer {
        s.check_features(in_size)?;
    }
    let listener = std::net::TcpListener::bind(&config.addr)
        .map_err(|e| serve_error(format!("cannot listen on {}: {e}", config.addr)))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| serve_error(format!("cannot listen on {}: {e}", config.addr)))?;
    let mut parameters = 0;
    model.visit_params("", &mut |_, p| {
        parameters += p.len();
        Ok(())
    })?;
    let weights = match &config.weights {
        Some(path) => json!({ "file": path.display().to_string(), "sha256": sha256(path)? }),
        None => serde_json::Value::Null,
    };
    let classes = matches!(config.output, Output::Classes { .. }).then_some(out_size);
    let labels = match &config.output {
        Output::Classes { labels } => labels.clone(),
        Output::Values => None,
    };
    let max_request_samples = config.max_request_samples.max(1);
    // 24 bytes per value holds any f32 written out at length.
    let max_body = config
        .max_body_bytes
        .unwrap_or_else(|| (max_request_samples * in_size * 24 + 1024).max(64 << 10));
    let model_info = json!({
        "input": <M::Input as Shape>::DIMS,
        "output": <M::Output as Shape>::DIMS,
        "classes": classes,
        "labels": labels,
        "parameters": parameters,
        "weights": weights,
        "max_batch": config.max_batch,
        "max_request_samples": max_request_samples,
        "max_body_bytes": max_body,
        "input_range": config.input_range.map(|(lo, hi)| [lo, hi]),
        "standardized": config.standardizer.is_some(),
    });
    let metrics = Arc::new(metrics::Metrics::new());
    let batching = batcher::Batching {
        max_batch: config.max_batch.max(1),
        max_wait: config.max_wait,
    };
    let (queue, workers) = batcher::start(
        model,
        config.workers,
        config.queue.max(max_request_samples),
        batching,
        Arc::clone(&metrics),
    )
    .map_err(|e| serve_error(format!("cannot start the workers: {e}")))?;
    let digits = in_size == 784;
    let app = Arc::new(routes::App {
        queue,
        expect: request::Expect {
            size: in_size,
            max_samples: max_request_samples,
            range: config.input_range,
        },
        output: config.output.clone(),
        out_size,
        model_info,
        token: config.token.clone().filter(|t| !t.is_empty()),
        metrics,
        log: config.log.clone(),
        max_body,
        page: config.page && digits,
        digits,
        standardizer: config.standardizer.clone(),
    });
    Ok(Prepared {
        listener,
        app,
        workers,
        config,
    })
}

impl Prepared {
    /// Serve until `shutdown` resolves, then drain and join the workers.
    fn serve(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<()> {
        let Prepared {
            listener,
            app,
            workers,
            config,
        } = self;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.io_threads.max(1))
            .thread_name("staticnn-http")
            .enable_all()
            .build()
            .map_err(|e| serve_error(format!("cannot start the runtime: {e}")))?;
        let router = routes::router(app, config.request_timeout);
        let served = runtime.block_on(connection::accept_loop(listener, router, &config, shutdown));
        // Every handler (and so every queue handle) is gone once the
        // runtime is: the workers then finish what is queued and stop.
        drop(runtime);
        for w in workers {
            let _ = w.join();
        }
        served
    }
}

/// Start serving `model` on threads of its own and return at once.
pub fn spawn<M>(model: M, config: ServeConfig) -> Result<Running>
where
    M: Layer<Cpu> + 'static,
{
    spawn_shared(Arc::new(model), config)
}

/// [`spawn`] for a network the caller keeps a handle to.
pub fn spawn_shared<M>(model: Arc<M>, config: ServeConfig) -> Result<Running>
where
    M: Layer<Cpu> + 'static,
{
    let prepared = prepare(model, config)?;
    let addr = prepared
        .listener
        .local_addr()
        .map_err(|e| serve_error(format!("no local address: {e}")))?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("staticnn-serve".into())
        .spawn(move || {
            prepared.serve(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
        })
        .map_err(|e| serve_error(format!("cannot start the server thread: {e}")))?;
    Ok(Running {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// Serve `model` until SIGTERM or Ctrl-C, then shut down gracefully:
/// stop accepting, finish requests in flight, return.
///
/// ```no_run
/// use staticnn_runtime::layers::Dense;
/// use staticnn_runtime::serve::{self, ServeConfig};
/// use staticnn_runtime::{Cpu, Init, Rng};
///
/// // Any `network!` network or layer on the CPU.
/// let net = Dense::<Cpu, 4, 3>::init(&Cpu, &mut Rng::new(0), Init::GlorotUniform, true)?;
/// serve::run(net, ServeConfig { addr: "127.0.0.1:8080".into(), ..ServeConfig::default() })?;
/// # Ok::<(), staticnn_runtime::Error>(())
/// ```
pub fn run<M>(model: M, config: ServeConfig) -> Result<()>
where
    M: Layer<Cpu> + 'static,
{
    run_until(model, config, signal())
}

/// Serve `model` until `shutdown` resolves (for embedding the server in
/// an application with its own notion of when to stop).
pub fn run_until<M>(
    model: M,
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()>
where
    M: Layer<Cpu> + 'static,
{
    prepare(Arc::new(model), config)?.serve(shutdown)
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
