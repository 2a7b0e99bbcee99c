//! Serve the digit classifier the `mnist` example trained, over HTTP.
//!
//! ```text
//! cargo run --release --example mnist     # writes mnist_mlp.safetensors
//! cargo run --release --example serve     # listens on 127.0.0.1:8080
//! curl http://127.0.0.1:8080/health
//! curl -X POST http://127.0.0.1:8080/predict -d '{"pixels": [0, 0, ..., 0.5, ...]}'
//! ```
//!
//! Options: `--weights FILE`, `--addr HOST:PORT`, `--workers N`. See
//! `server.rs` for the API; `tests/serve.rs` exercises it.

#[path = "../common/mod.rs"]
mod common;
mod server;

use common::Mlp;
use staticnn::prelude::*;
use std::sync::Arc;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let mut weights = "mnist_mlp.safetensors".to_string();
    let mut addr = "127.0.0.1:8080".to_string();
    let mut workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--weights" => weights = value()?,
            "--addr" => addr = value()?,
            "--workers" => workers = value()?.parse()?,
            "-h" | "--help" => {
                println!("usage: serve [--weights FILE] [--addr HOST:PORT] [--workers N]");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}` (try --help)").into()),
        }
    }
    let mut net = Mlp::init(&Cpu, 0)?;
    net.load(&weights).map_err(|e| {
        format!(
            "{e}\n(run `cargo run --release --example mnist` first to train and save the weights)"
        )
    })?;
    let running = server::start(Arc::new(net), &addr, workers)?;
    println!(
        "serving {weights} on http://{} with {workers} workers: GET /health, POST /predict {{\"pixels\": [784 numbers in 0..=1]}}",
        running.addr
    );
    // Serve until killed.
    loop {
        std::thread::park();
    }
}
