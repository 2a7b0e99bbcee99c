//! An HTTP endpoint for a digit classifier: `GET /health` and
//! `POST /predict` with `{"pixels": [784 numbers in 0..=1]}`, answered
//! with `{"class": 7, "probabilities": [...]}`. Bad requests get a 4xx
//! status and a JSON `{"error": "..."}` saying what was wrong; nothing a
//! client sends can stop the server.
//!
//! Workers share one network (read only) and each keep a `Predictor`, so
//! requests are served concurrently and classifying allocates nothing.

use staticnn::prelude::*;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use tiny_http::{Header, Method, Request, Response, Server};

/// Largest request body accepted: 784 numbers written out at length fit
/// in 20 KB.
pub const MAX_BODY: usize = 64 * 1024;

/// A running server; dropped or [`stop`](Running::stop)ped, it shuts down.
pub struct Running {
    pub addr: SocketAddr,
    http: Arc<Server>,
    workers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stop accepting requests and wait for the workers.
    #[allow(dead_code)] // the example serves until killed; tests stop it
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        for _ in &self.workers {
            self.http.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Serve `net` on `addr` (port 0 picks a free one) with `workers`
/// threads.
pub fn start<M>(net: Arc<M>, addr: &str, workers: usize) -> std::result::Result<Running, String>
where
    M: Model<Cpu, Input = Rank1<784>, Output = Rank1<10>> + 'static,
{
    let http = Arc::new(Server::http(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?);
    let addr = http
        .server_addr()
        .to_ip()
        .ok_or_else(|| format!("{addr} is not an IP address"))?;
    let workers = (0..workers.max(1))
        .map(|_| {
            let (http, net) = (Arc::clone(&http), Arc::clone(&net));
            std::thread::spawn(move || worker(&http, &*net))
        })
        .collect();
    Ok(Running {
        addr,
        http,
        workers,
    })
}

fn worker<M>(http: &Server, net: &M)
where
    M: Model<Cpu, Input = Rank1<784>, Output = Rank1<10>>,
{
    let Ok(mut predictor) = Predictor::new(net) else {
        return;
    };
    // `recv` fails only when the server is shut down (or unblocked).
    while let Ok(request) = http.recv() {
        // A panic here is a bug, but it must not take the worker down:
        // answer 500 and go on.
        let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            respond(request, &mut predictor);
        }));
        if handled.is_err() {
            eprintln!("serve: a request handler panicked; the worker carries on");
        }
    }
}

/// An error answer: status and message.
struct Reject(u16, String);

fn json_response(status: u16, body: serde_json::Value) -> Response<std::io::Cursor<Vec<u8>>> {
    let header = Header::from_bytes("Content-Type", "application/json").ok();
    let mut response = Response::from_string(body.to_string()).with_status_code(status);
    if let Some(h) = header {
        response.add_header(h);
    }
    response
}

fn respond<M>(mut request: Request, predictor: &mut Predictor<'_, M>)
where
    M: Model<Cpu, Input = Rank1<784>, Output = Rank1<10>>,
{
    let answer = route(&mut request, predictor);
    let response = match answer {
        Ok(body) => json_response(200, body),
        Err(Reject(status, message)) => {
            json_response(status, serde_json::json!({ "error": message }))
        }
    };
    // The client may have gone; nothing to do about it.
    let _ = request.respond(response);
}

fn route<M>(
    request: &mut Request,
    predictor: &mut Predictor<'_, M>,
) -> std::result::Result<serde_json::Value, Reject>
where
    M: Model<Cpu, Input = Rank1<784>, Output = Rank1<10>>,
{
    let path = request.url().split('?').next().unwrap_or("").to_string();
    match (request.method(), path.as_str()) {
        (Method::Get, "/health") => Ok(serde_json::json!({
            "status": "ok",
            "input": [784],
            "classes": 10,
        })),
        (Method::Post, "/predict") => {
            let body = read_body(request)?;
            let pixels = parse_pixels(&body)?;
            let logits = predictor
                .predict(&pixels)
                .map_err(|e| Reject(500, format!("inference failed: {e}")))?;
            let probabilities = softmax(logits);
            let class = (0..probabilities.len())
                .max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]))
                .unwrap_or(0);
            Ok(serde_json::json!({ "class": class, "probabilities": probabilities }))
        }
        (_, "/health") | (_, "/predict") => Err(Reject(
            405,
            format!(
                "{} is not allowed here: use GET /health or POST /predict",
                request.method()
            ),
        )),
        _ => Err(Reject(
            404,
            format!("no such endpoint `{path}`: use GET /health or POST /predict"),
        )),
    }
}

/// The body, refusing more than [`MAX_BODY`] bytes without reading them
/// all.
fn read_body(request: &mut Request) -> std::result::Result<Vec<u8>, Reject> {
    let too_big = || {
        Reject(
            413,
            format!("the request body is larger than {MAX_BODY} bytes; send 784 numbers"),
        )
    };
    if request.body_length().is_some_and(|n| n > MAX_BODY) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    request
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| Reject(400, format!("cannot read the request body: {e}")))?;
    if body.len() > MAX_BODY {
        return Err(too_big());
    }
    Ok(body)
}

/// `{"pixels": [784 numbers in 0..=1]}`.
fn parse_pixels(body: &[u8]) -> std::result::Result<Vec<f32>, Reject> {
    let bad = |why: String| Reject(400, why);
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    let pixels = value
        .get("pixels")
        .ok_or_else(|| {
            bad("expected a JSON object with a field `pixels`: {\"pixels\": [784 numbers]}".into())
        })?
        .as_array()
        .ok_or_else(|| bad("`pixels` must be an array of 784 numbers".into()))?;
    if pixels.len() != 784 {
        return Err(Reject(
            422,
            format!(
                "`pixels` has {} values; a 28x28 digit has 784",
                pixels.len()
            ),
        ));
    }
    pixels
        .iter()
        .enumerate()
        .map(|(i, v)| match v.as_f64() {
            Some(x) if (0.0..=1.0).contains(&x) => Ok(x as f32),
            Some(x) => Err(Reject(
                422,
                format!("pixel {i} is {x}; values must be in [0, 1] (divide 0-255 values by 255)"),
            )),
            None => Err(bad(format!("pixel {i} is `{v}`, not a number"))),
        })
        .collect()
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|z| (z - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}
