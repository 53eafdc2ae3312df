//! HTTP server metrics, named and labelled as the semantic conventions say:
//! `http.server.request.duration` (s) and `http.server.active_requests`.

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Arc;

use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry::{KeyValue, StringValue, Value};

use super::exemplars::{ExemplarStore, Sampled, SeriesKey};
use super::route::{Route, METHODS, METHOD_COUNT};

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

/// The duration's labels, made into key-values only when the SDK needs them (the
/// series' first request, or a series past the bound): a bound series records
/// without them.
pub struct DurationLabels<'a> {
    pub method: &'static str,
    pub route: &'a StringValue,
    pub status: Option<u16>,
    pub error_type: Option<&'a StringValue>,
}

impl DurationLabels<'_> {
    /// Calls `f` with the labels as key-values, on the stack.
    fn with<R>(&self, f: impl FnOnce(&[KeyValue]) -> R) -> R {
        let method = KeyValue::new(HTTP_REQUEST_METHOD, self.method);
        let route = KeyValue::new(HTTP_ROUTE, Value::String(self.route.clone()));
        let status = self
            .status
            .map(|status| KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status)));
        let error = self
            .error_type
            .map(|kind| KeyValue::new(ERROR_TYPE, Value::String(kind.clone())));
        match (status, error) {
            (Some(s), Some(e)) => f(&[method, route, s, e]),
            (Some(s), None) => f(&[method, route, s]),
            (None, Some(e)) => f(&[method, route, e]),
            (None, None) => f(&[method, route]),
        }
    }
}

#[derive(Clone)]
pub struct HttpMetrics {
    duration: Histogram<f64>,
    exemplars: Arc<ExemplarStore>,
    /// Lean path: the duration recorded through a histogram bound to each series'
    /// labels (kept beside its exemplars), not looked up by its attributes per request.
    bound: bool,
    /// In-flight requests per method, read at collection time: two atomic
    /// adds per request instead of two attribute-set lookups in the SDK.
    active: Arc<[AtomicI64; METHOD_COUNT]>,
}

impl HttpMetrics {
    /// `bound`: record through bound instruments (the lean path); the stock path
    /// records as a typical service does, by attributes.
    pub fn new(meter: &Meter, exemplars: Arc<ExemplarStore>, bound: bool) -> Self {
        HttpMetrics {
            exemplars,
            bound,
            duration: meter
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_description("Duration of HTTP server requests.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            active: {
                let active: Arc<[AtomicI64; METHOD_COUNT]> = Arc::new(Default::default());
                let observed = Arc::clone(&active);
                meter
                    .i64_observable_up_down_counter("http.server.active_requests")
                    .with_unit("{request}")
                    .with_description("Number of active HTTP server requests.")
                    .with_callback(move |observer| {
                        for (i, method) in METHODS.iter().enumerate() {
                            let n = observed[i].load(Relaxed);
                            // Methods never seen stay out of the series.
                            if n != 0 || *method == "GET" {
                                observer.observe(
                                    n,
                                    &[
                                        KeyValue::new(HTTP_REQUEST_METHOD, *method),
                                        KeyValue::new(URL_SCHEME, "http"),
                                    ],
                                );
                            }
                        }
                    })
                    .build();
                active
            },
        }
    }

    pub fn request_started(&self, method_index: usize) {
        self.active[method_index].fetch_add(1, Relaxed);
    }

    /// The request's duration in its series (`key`, labelled `labels`), with the
    /// request as the bucket's exemplar when its trace is sampled.
    pub fn request_finished(
        &self,
        method_index: usize,
        seconds: f64,
        series: (SeriesKey, &Arc<Route>),
        labels: DurationLabels<'_>,
        exemplar: Option<Sampled<'_>>,
    ) {
        self.active[method_index].fetch_sub(1, Relaxed);
        let (key, route) = series;
        if self.bound {
            let kept = self.exemplars.record(key, route, seconds, exemplar, || {
                labels.with(|labels| self.duration.bind(labels))
            });
            if !kept {
                // Past the series bound: the SDK folds such series into its overflow.
                labels.with(|labels| self.duration.record(seconds, labels));
            }
        } else {
            labels.with(|labels| self.duration.record(seconds, labels));
            if let Some(sampled) = exemplar {
                self.exemplars.offer(key, route, seconds, sampled);
            }
        }
    }

    /// Where the duration's exemplars are kept (see `telemetry::exemplars`).
    pub fn exemplars(&self) -> &ExemplarStore {
        &self.exemplars
    }
}
