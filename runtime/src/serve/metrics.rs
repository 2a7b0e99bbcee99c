//! `GET /metrics`: requests by route and status, latency, batch sizes and
//! refusals, in the Prometheus (OpenMetrics) text format.
//!
//! Routes are labelled by the route that matched, never by the path a
//! client sent, so that no request can add a label value (and memory).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

type HistogramFamily = Family<RouteLabel, Histogram, fn() -> Histogram>;

/// The server's counters, shared by the handlers and the batch workers.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    batch: Histogram,
    queue_full: Counter,
}

fn latency_histogram() -> Histogram {
    // 50 us to about 1.6 s.
    Histogram::new(exponential_buckets(50e-6, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("staticnn");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer, by route",
            latency.clone(),
        );
        let batch = Histogram::new(exponential_buckets(1.0, 2.0, 11));
        registry.register("batch_size", "Samples in each forward pass", batch.clone());
        let queue_full = Counter::default();
        registry.register(
            "queue_full",
            "Requests refused with 503 because the queue was full",
            queue_full.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            batch,
            queue_full,
        }
    }

    pub fn request(&self, route: &'static str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
        self.latency
            .get_or_create(&RouteLabel { route })
            .observe(seconds);
    }

    pub fn batch(&self, samples: usize) {
        self.batch.observe(samples as f64);
    }

    pub fn queue_full(&self) {
        self.queue_full.inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
