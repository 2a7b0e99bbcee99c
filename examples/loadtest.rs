//! Load test of `staticnn::serve`: 8 clients on keep-alive connections
//! send 20,000 digit predictions to a server on 127.0.0.1: with batching
//! off (`max_batch` 1), on with passes on worker threads, and on with
//! passes inline (`workers` 0), in turn for `--rounds` rounds; reports
//! requests per second and p50 / p99 latency of each one's median round.
//!
//! ```text
//! cargo run --release --example loadtest
//! cargo run --release --example loadtest -- --requests 50000 --clients 16
//! ```
//!
//! The server runs in this process on a loopback port, with the quick MLP
//! the tests use, or with `--model lenet` the LeNet-5 of the `lenet`
//! example (untrained: a forward pass costs the same whatever the
//! weights), whose forward pass is costly enough for batching to matter.
//! Bounded: every client stops at its share of `--requests` or when
//! `--seconds` have passed.

#[path = "common/mod.rs"]
mod common;
#[path = "common/http.rs"]
mod http;

use clap::Parser;
use staticnn::serve::{self, ServeConfig};
use std::time::{Duration, Instant};

/// Measure the digit server's throughput and latency.
#[derive(Parser)]
#[command(about)]
struct Args {
    /// Predictions in all.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Concurrent clients, each on its own connection.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Stop each run after this long, whatever is left.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// The batched run on worker threads uses this many (default: one
    /// per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Threads handling connections in the servers started here.
    #[arg(long, default_value_t = 2)]
    io_threads: usize,
    /// The batched run's `max_batch`.
    #[arg(long, default_value_t = 64)]
    max_batch: usize,
    /// The batched run's `max_wait`, in microseconds.
    #[arg(long, default_value_t = 0)]
    max_wait_us: u64,
    /// The network served.
    #[arg(long, value_enum, default_value_t = Model::Mlp)]
    model: Model,
    /// Rounds: each server is loaded this many times, in turn, and the
    /// round with the median throughput is reported (this machine's
    /// throughput moves by 10 to 30% from one run to the next).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Also load a server already listening here (a loopback address
    /// only), in turn with the others; it must take
    /// `{"pixels": [784 values]}`.
    #[arg(long)]
    addr: Option<std::net::SocketAddr>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Model {
    /// 784-128-10, about 5 us a sample.
    Mlp,
    /// LeNet-5 on 28x28 images.
    Lenet,
}

struct Figures {
    done: usize,
    failed: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn load(addr: std::net::SocketAddr, args: &Args, bodies: &[Vec<u8>]) -> Figures {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let per_client = args.requests.div_ceil(args.clients.max(1));
    let results: Vec<(usize, Vec<Duration>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.clients.max(1))
            .map(|c| {
                s.spawn(move || {
                    let mut latencies = Vec::with_capacity(per_client);
                    let mut failed = 0;
                    let Ok(mut conn) = http::Conn::open(addr) else {
                        return (per_client, latencies);
                    };
                    for i in 0..per_client {
                        if Instant::now() > deadline {
                            break;
                        }
                        let body = &bodies[(c * per_client + i) % bodies.len()];
                        let t = Instant::now();
                        match conn.request(
                            "POST",
                            "/predict",
                            &[("Content-Type", "application/json")],
                            body,
                        ) {
                            Ok(a) if a.status == 200 => latencies.push(t.elapsed()),
                            _ => {
                                failed += 1;
                                match http::Conn::open(addr) {
                                    Ok(c) => conn = c,
                                    Err(_) => break,
                                }
                            }
                        }
                    }
                    (failed, latencies)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies: Vec<Duration> = results
        .iter()
        .flat_map(|(_, l)| l.iter().copied())
        .collect();
    latencies.sort();
    Figures {
        done: latencies.len(),
        failed: results.iter().map(|(f, _)| f).sum(),
        seconds,
        latencies,
    }
}

fn main() -> std::process::ExitCode {
    common::exit_code(run(Args::parse()))
}

fn run(args: Args) -> std::result::Result<(), String> {
    let (mlp, held_out) = common::quick_mlp(1).map_err(|e| e.to_string())?;
    match args.model {
        Model::Mlp => measure(std::sync::Arc::new(mlp), &held_out, &args),
        Model::Lenet => {
            let lenet = common::LeNet::init(&staticnn::Cpu, 0).map_err(|e| e.to_string())?;
            measure(std::sync::Arc::new(lenet), &held_out, &args)
        }
    }
}

fn measure<M>(
    net: std::sync::Arc<M>,
    held_out: &staticnn::Dataset<staticnn::Rank1<784>, staticnn::ClassIndex>,
    args: &Args,
) -> std::result::Result<(), String>
where
    M: staticnn::Layer<staticnn::Cpu> + 'static,
{
    let bodies: Vec<Vec<u8>> = (0..held_out.len().min(200))
        .filter_map(|i| held_out.get(i))
        .map(|(x, _)| serde_json::json!({ "pixels": x }).to_string().into_bytes())
        .collect();
    println!(
        "{} predictions of the {:?} network from {} clients on 127.0.0.1 ({} cores)",
        args.requests,
        args.model,
        args.clients,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| server | requests/s | p50 ms | p99 ms | answered | failed |");
    println!("|---|---|---|---|---|---|");
    if let Some(addr) = args.addr {
        if !addr.ip().is_loopback() {
            return Err(format!(
                "{addr} is not a loopback address; the load test only loads this machine"
            ));
        }
    }
    let defaults = ServeConfig::default();
    let threads = args.workers.unwrap_or(defaults.workers).max(1);
    // Workers 0 runs passes inline.
    let mut servers = vec![
        (
            "batching off (max_batch 1)".to_string(),
            Server::Local {
                max_batch: 1,
                workers: threads,
            },
        ),
        (
            "batching on, worker threads".to_string(),
            Server::Local {
                max_batch: args.max_batch,
                workers: threads,
            },
        ),
        (
            "batching on, inline".to_string(),
            Server::Local {
                max_batch: args.max_batch,
                workers: 0,
            },
        ),
    ];
    if let Some(addr) = args.addr {
        servers.push((format!("the server at {addr}"), Server::Running(addr)));
    }
    // Each round loads every server in turn, so that all of them see the
    // same drift in the machine's speed.
    let mut rounds: Vec<Vec<Figures>> = servers.iter().map(|_| Vec::new()).collect();
    for _ in 0..args.rounds.max(1) {
        for ((_, server), figures) in servers.iter().zip(&mut rounds) {
            let (max_batch, workers) = match *server {
                Server::Running(addr) => {
                    figures.push(load(addr, args, &bodies));
                    continue;
                }
                Server::Local { max_batch, workers } => (max_batch, workers),
            };
            let config = ServeConfig {
                addr: "127.0.0.1:0".into(),
                workers,
                io_threads: args.io_threads,
                max_batch,
                max_wait: Duration::from_micros(args.max_wait_us),
                input_range: Some((0.0, 1.0)),
                log: None,
                ..defaults.clone()
            };
            let running = serve::spawn_shared(std::sync::Arc::clone(&net), config)
                .map_err(|e| e.to_string())?;
            figures.push(load(running.addr(), args, &bodies));
            running.shutdown().map_err(|e| e.to_string())?;
        }
    }
    for ((name, _), mut figures) in servers.into_iter().zip(rounds) {
        figures.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
        let all: Vec<String> = figures.iter().map(|f| format!("{:.0}", f.rate())).collect();
        print_row(
            &format!("{name} (rounds: {})", all.join(", ")),
            &figures[figures.len() / 2],
        );
    }
    Ok(())
}

/// A server the load test loads.
enum Server {
    /// Started here with these settings.
    Local { max_batch: usize, workers: usize },
    /// Already listening.
    Running(std::net::SocketAddr),
}

impl Figures {
    fn rate(&self) -> f64 {
        self.done as f64 / self.seconds
    }
}

fn print_row(name: &str, f: &Figures) {
    println!(
        "| {name} | {:.0} | {:.3} | {:.3} | {} | {} |",
        f.rate(),
        percentile(&f.latencies, 0.5),
        percentile(&f.latencies, 0.99),
        f.done,
        f.failed
    );
}
