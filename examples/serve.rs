//! Serve the digit classifier the `mnist` example trained, over HTTP, with
//! `staticnn::serve` (axum): batching, metrics, limits, an optional token
//! and a page to draw digits on.
//!
//! ```text
//! cargo run --release --example mnist     # writes mnist_mlp.safetensors
//! cargo run --release --example serve     # listens on 127.0.0.1:8080
//! # open http://127.0.0.1:8080/ and draw a digit, or:
//! curl http://127.0.0.1:8080/health
//! curl -X POST http://127.0.0.1:8080/predict -d '{"pixels": [0, 0, ..., 0.5, ...]}'
//! curl http://127.0.0.1:8080/metrics
//! ```
//!
//! Stops gracefully on Ctrl-C or SIGTERM. `tests/serve.rs` exercises the
//! API and the attacks it withstands; `examples/loadtest.rs` measures it.

#[path = "common/mod.rs"]
mod common;

use clap::Parser;
use common::Mlp;
use staticnn::prelude::*;
use staticnn::serve::{self, ServeConfig};
use std::path::PathBuf;
use std::time::Duration;

/// Serve the MNIST digit classifier over HTTP.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Weights saved by the `mnist` example.
    #[arg(long, default_value = "mnist_mlp.safetensors")]
    weights: PathBuf,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Threads running forward passes; 0, the default, runs them on the
    /// connection threads, which is fastest for a network this small.
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// The most samples in one forward pass.
    #[arg(long, default_value_t = 64)]
    max_batch: usize,
    /// Microseconds a batch waits for more requests after its first.
    #[arg(long, default_value_t = 0)]
    max_wait_us: u64,
    /// The most samples waiting; beyond, requests get 503.
    #[arg(long, default_value_t = 1024)]
    queue: usize,
    /// Require `Authorization: Bearer TOKEN` on every route but /health
    /// and the page (never logged).
    #[arg(long, env = "STATICNN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Log nothing per request.
    #[arg(long)]
    quiet: bool,
}

fn main() -> std::process::ExitCode {
    common::exit_code(serve_digits(Args::parse()))
}

fn serve_digits(args: Args) -> std::result::Result<(), String> {
    let mut net = Mlp::init(&Cpu, 0).map_err(|e| e.to_string())?;
    net.load(&args.weights).map_err(|e| {
        format!(
            "{e}\n(run `cargo run --release --example mnist` first to train and save the weights)"
        )
    })?;
    // A network trained behind a standardiser gets every request
    // standardised as its training data was.
    let standardizer =
        staticnn::data::Standardizer::load(&args.weights).map_err(|e| e.to_string())?;
    let defaults = ServeConfig::default();
    let config = ServeConfig {
        addr: args.addr.clone(),
        workers: args.workers,
        max_batch: args.max_batch,
        max_wait: Duration::from_micros(args.max_wait_us),
        queue: args.queue,
        token: args.token,
        input_range: Some((0.0, 1.0)),
        weights: Some(args.weights.clone()),
        standardizer,
        log: if args.quiet {
            None
        } else {
            defaults.log.clone()
        },
        ..defaults
    };
    eprintln!(
        "serving {} on http://{} (token {}): GET / to draw, POST /predict {{\"pixels\": [784 numbers in 0..=1]}}, GET /metrics; Ctrl-C stops",
        args.weights.display(),
        args.addr,
        if config.token.is_some() { "required" } else { "not required" },
    );
    serve::run(net, config).map_err(|e| e.to_string())
}
