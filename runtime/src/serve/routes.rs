//! The HTTP API: routes, handlers, and the layer around them that checks
//! the token, counts requests and logs them.

use super::batcher::{Job, Queue, Refused};
use super::metrics::Metrics;
use super::request::{parse_predict, Expect, Reject, Samples};
use super::{LogSink, Output};
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Everything the handlers share.
pub(crate) struct App {
    pub queue: Queue,
    pub expect: Expect,
    pub output: Output,
    pub out_size: usize,
    pub model_info: Value,
    pub token: Option<String>,
    pub metrics: Arc<Metrics>,
    pub log: Option<LogSink>,
    pub max_body: usize,
    pub page: bool,
    /// Whether the input is a 28x28 digit, so images can be sent.
    pub digits: bool,
    /// Applied to every sample before it is queued.
    pub standardizer: Option<crate::data::Standardizer>,
}

type Shared = Arc<App>;

/// The routes, with body limits, timeouts and the guard layer.
pub(crate) fn router(app: Shared, request_timeout: Duration) -> Router {
    let mut router = Router::new()
        .route("/health", get(health))
        .route("/model", get(model))
        .route("/metrics", get(metrics))
        .route("/predict", post(predict));
    if app.digits {
        router = router.route("/predict/image", post(predict_image));
    }
    if app.page {
        router = router.route("/", get(page));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            guard,
        ))
        // A body that arrives too slowly, or a request that takes too long
        // in all, is answered 408. (Bodies larger than the bound are
        // refused by `guard` and `read_body`, with a JSON message.)
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            request_timeout,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .with_state(app)
}

/// A JSON error answer.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        error(status, self.message)
    }
}

/// Routes that need the token when one is set.
fn protected(route: &str) -> bool {
    matches!(route, "/predict" | "/predict/image" | "/model" | "/metrics")
}

/// Compare in time independent of where the strings differ, so the token
/// cannot be guessed byte by byte from response times.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(app: &App, headers: &HeaderMap) -> bool {
    let Some(token) = &app.token else {
        return true;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|given| same(given, token.as_bytes()))
}

/// Token check, metrics and one log line per request. The log line holds
/// the method, the matched route (never the raw path or any header, so
/// neither a token nor a client's junk reaches the log), the status and
/// the time taken.
async fn guard(State(app): State<Shared>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route: &'static str = match request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
    {
        Some("/health") => "/health",
        Some("/model") => "/model",
        Some("/metrics") => "/metrics",
        Some("/predict") => "/predict",
        Some("/predict/image") => "/predict/image",
        Some("/") => "/",
        _ => "other",
    };
    let method = match *request.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        _ => "other",
    };
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let response = if protected(route) && !authorized(&app, request.headers()) {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "this server needs a token: send `Authorization: Bearer <token>`",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    } else if announced.is_some_and(|n| n > app.max_body as u64) {
        // Refused from the header alone: not a byte of the body is read,
        // so a client claiming gigabytes costs nothing.
        too_large(&app)
    } else {
        next.run(request).await
    };
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    app.metrics.request(route, status, seconds);
    if let Some(log) = &app.log {
        log(&format!(
            "{method} {route} {status} {:.3} ms",
            seconds * 1e3
        ));
    }
    response
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn model(State(app): State<Shared>) -> Json<Value> {
    Json(app.model_info.clone())
}

async fn metrics(State(app): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
        .into_response()
}

async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint: use GET /health, GET /model, GET /metrics or POST /predict",
    )
}

async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed here: /predict takes POST, the others GET",
    )
}

fn too_large(app: &App) -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {} bytes", app.max_body),
    )
}

/// The body (at most `max_body` bytes, however it is sent), or the answer
/// that explains why it could not be read.
async fn read_body(app: &App, body: Body) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, app.max_body).await.map_err(|e| {
        // The layers' errors arrive wrapped; their text says which.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(&s.to_string());
            source = s.source();
        }
        if text.contains("length limit") {
            too_large(app)
        } else if text.contains("timed out") || text.contains("timeout") {
            error(
                StatusCode::REQUEST_TIMEOUT,
                "the request body arrived too slowly",
            )
        } else {
            error(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            )
        }
    })
}

/// Queue `samples` and wait for their outputs, formatted for the client.
async fn run(app: &App, mut samples: Samples) -> Response {
    if let Some(s) = &app.standardizer {
        // The sizes were checked when the server started and the request
        // was parsed, so this cannot fail; answer 500 rather than panic.
        if let Err(e) = s.apply_samples(&mut samples.values) {
            return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        }
    }
    let (reply, answer) = oneshot::channel();
    let job = Job {
        values: samples.values,
        samples: samples.samples,
        reply,
    };
    match app.queue.submit(job) {
        Ok(()) => {}
        Err(Refused::Full) => {
            app.metrics.queue_full();
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is busy: its queue is full; retry in a moment",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
        Err(Refused::Stopped) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down",
            )
        }
    }
    let outputs = match answer.await {
        Ok(Ok(outputs)) => outputs,
        Ok(Err(why)) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("inference failed: {why}"),
            )
        }
        Err(_) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down",
            )
        }
    };
    let answers: Vec<Value> = outputs
        .chunks_exact(app.out_size.max(1))
        .map(|y| describe(&app.output, y))
        .collect();
    if samples.batch {
        Json(json!({ "predictions": answers })).into_response()
    } else {
        Json(answers.into_iter().next().unwrap_or(Value::Null)).into_response()
    }
}

/// One sample's answer: the class and its probabilities, or the raw
/// outputs.
fn describe(output: &Output, y: &[f32]) -> Value {
    match output {
        Output::Values => json!({ "output": y }),
        Output::Classes { labels } => {
            let mut p = vec![0.0; y.len()];
            crate::ops::softmax::softmax_row(y, &mut p);
            let class = crate::ops::loss::argmax(&p);
            match labels.as_ref().and_then(|l| l.get(class)) {
                Some(label) => json!({ "class": class, "label": label, "probabilities": p }),
                None => json!({ "class": class, "probabilities": p }),
            }
        }
    }
}

async fn predict(State(app): State<Shared>, body: Body) -> Response {
    let bytes = match read_body(&app, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match parse_predict(&bytes, &app.expect) {
        Ok(samples) => run(&app, samples).await,
        Err(reject) => reject.into_response(),
    }
}

/// A picture of one digit (PNG, PGM or BMP), prepared as MNIST's digits
/// were.
async fn predict_image(State(app): State<Shared>, body: Body) -> Response {
    let bytes = match read_body(&app, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let prepared = crate::images::decode(&bytes).and_then(|g| crate::images::mnist_like(&g));
    match prepared {
        Ok(values) => {
            let samples = Samples {
                values,
                samples: 1,
                batch: false,
            };
            run(&app, samples).await
        }
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}
