//! Serving a network over HTTP (feature `serve`): axum on hyper and tokio.
//!
//! [`request`], the parsing and checking of prediction requests, needs no
//! HTTP stack and is always built (its fuzz target uses it so); everything
//! else here needs the feature.
//!
//! See [`run`] for a server in a few lines.
//!
//! Endpoints:
//!
//! | route | answer |
//! |---|---|
//! | `GET /health` | `{"status": "ok"}` |
//! | `GET /model` | input and output shapes, classes, parameter count, weights file and its SHA-256 |
//! | `POST /predict` | `{"input": [...]}` (or `"pixels"`) gives `{"class", "probabilities"}`; `{"inputs": [[...], ...]}` gives `{"predictions": [...]}` |
//! | `POST /predict/image` | for 784-value inputs: a PNG, PGM or BMP of one digit, prepared as MNIST's were ([`crate::images`]) |
//! | `GET /metrics` | Prometheus text: requests by route and status, latency, batch sizes, refusals |
//! | `GET /` | for 784-value inputs: a page to draw a digit on and see the prediction |
//!
//! Concurrent requests are batched into one forward pass
//! ([`ServeConfig::max_batch`], [`ServeConfig::max_wait`]); the queue is
//! bounded in samples, and a request that would overflow it gets 503 with
//! `Retry-After`. With [`ServeConfig::token`] set, every route but
//! `/health` and `/` needs `Authorization: Bearer <token>` (401 without);
//! the token is never logged.
//!
//! Nothing a client sends can exhaust the server: bodies are bounded
//! (413 from `Content-Length` before reading), headers must arrive within
//! [`ServeConfig::header_timeout`], bodies and whole requests within
//! [`ServeConfig::request_timeout`] (408), idle connections are closed
//! after [`ServeConfig::idle_timeout`], and at most
//! [`ServeConfig::max_connections`] are open at once, each a task, not a
//! thread. [`run`] shuts down gracefully on SIGTERM or Ctrl-C.

#[cfg(feature = "serve")]
mod batcher;
#[cfg(feature = "serve")]
mod connection;
#[cfg(feature = "serve")]
mod metrics;
pub mod request;
#[cfg(feature = "serve")]
mod routes;
#[cfg(feature = "serve")]
mod server;

#[cfg(feature = "serve")]
pub use server::{run, run_until, spawn, spawn_shared, LogSink, Output, Running, ServeConfig};
