//! HTTP server metrics, named and labelled as the semantic conventions say:
//! `http.server.request.duration` (s) and `http.server.active_requests`.

use opentelemetry::metrics::{Histogram, Meter, UpDownCounter};
use opentelemetry::KeyValue;

pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
pub const HTTP_ROUTE: &str = "http.route";
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
pub const ERROR_TYPE: &str = "error.type";
pub const URL_SCHEME: &str = "url.scheme";

/// Bucket bounds in seconds: the semconv defaults plus 1 s exactly (so the
/// "p99 > 1 s" alert can be computed without interpolation error) and 2.5 s.
pub const DURATION_BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0,
];

#[derive(Clone)]
pub struct HttpMetrics {
    duration: Histogram<f64>,
    active: UpDownCounter<i64>,
}

impl HttpMetrics {
    pub fn new(meter: &Meter) -> Self {
        HttpMetrics {
            duration: meter
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_description("Duration of HTTP server requests.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            active: meter
                .i64_up_down_counter("http.server.active_requests")
                .with_unit("{request}")
                .with_description("Number of active HTTP server requests.")
                .build(),
        }
    }

    pub fn request_started(&self, attributes: &[KeyValue]) {
        self.active.add(1, attributes);
    }

    pub fn request_finished(
        &self,
        active_attributes: &[KeyValue],
        seconds: f64,
        attributes: &[KeyValue],
    ) {
        self.active.add(-1, active_attributes);
        self.duration.record(seconds, attributes);
    }
}
