//! Exemplars for `http.server.request.duration`: per series and bucket, the
//! last sampled request that landed there (trace_id, span_id, and request_id as
//! a filtered attribute), so a slow bucket in Prometheus leads to that request's
//! trace and logs (FR-002) without request ids in labels.
//!
//! The Rust SDK never fills exemplars, so they are kept here beside it: the
//! request path writes one slot under a short lock (no allocation once a series
//! exists), and the metric exporter copies the slots into the encoded data
//! points every export interval. A slot keeps its exemplar until a newer request
//! replaces it, so every scrape sees one (Prometheus ignores repeats).

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::metrics::BoundHistogram;
use opentelemetry::trace::SpanContext;
use opentelemetry::StringValue;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::exemplar::Value as ExemplarValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{Exemplar as ProtoExemplar, HistogramDataPoint};
use parking_lot::Mutex;
use rustc_hash::FxBuildHasher;

use super::metrics::{
    DURATION_BUCKETS, ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE,
};
use super::request_id::RequestId;
use super::route::{Route, METHODS};
use super::unix_nanos::UnixNanos;

/// The histogram whose data points get exemplars.
pub const DURATION_METRIC: &str = "http.server.request.duration";
/// The filtered attribute naming the request.
pub const REQUEST_ID: &str = "request_id";

/// OpenMetrics caps an exemplar's label names and values at 128 characters in
/// all; `trace_id` and `span_id` take 63 of them and `request_id=` 10, so a
/// longer client-supplied id is left out (the trace id still leads to it)
/// rather than have the whole exemplar refused downstream.
const MAX_REQUEST_ID_LEN: usize = 128 - 63 - REQUEST_ID.len();

/// Series beyond this are not given exemplars: the SDK folds histogram series
/// past 2000 into an overflow series anyway.
const MAX_SERIES: usize = 2000;

const BUCKETS: usize = DURATION_BUCKETS.len() + 1;

/// One histogram series, as the request layer labels it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SeriesKey {
    /// Routes are interned for the life of the process, so their address names
    /// them without hashing the template.
    route: usize,
    method: u8,
    /// 0: no status (cancelled before a response).
    status: u16,
    error_type: Option<StringValue>,
}

impl SeriesKey {
    pub fn new(
        route: &Arc<Route>,
        method: usize,
        status: Option<u16>,
        error_type: Option<&StringValue>,
    ) -> Self {
        SeriesKey {
            route: Arc::as_ptr(route) as usize,
            method: method as u8,
            status: status.unwrap_or(0),
            error_type: error_type.cloned(),
        }
    }
}

/// The request a measurement came from, offered as its bucket's exemplar.
#[derive(Clone, Copy)]
pub struct Sampled<'a> {
    pub span: &'a SpanContext,
    pub request_id: &'a RequestId,
    /// When the measurement was taken: the request's end, which the caller already
    /// knows (no second clock read per request).
    pub time: UnixNanos,
}

#[derive(Clone, Debug, PartialEq)]
struct Exemplar {
    value: f64,
    time_unix_nano: u64,
    trace_id: [u8; 16],
    span_id: [u8; 8],
    request_id: Option<Arc<str>>,
}

struct Series {
    route: Arc<Route>,
    key: SeriesKey,
    slots: [Option<Exemplar>; BUCKETS],
    /// The lean path's histogram bound to this series' labels: recording through
    /// it skips the SDK's per-request attribute hashing and lookup.
    duration: Option<BoundHistogram<f64>>,
}

impl Series {
    /// Whether an encoded data point (its attributes) is this series.
    fn matches(&self, attributes: &[KeyValue]) -> bool {
        let mut method = None;
        let mut route = None;
        let mut status = 0;
        let mut error_type = None;
        for kv in attributes {
            let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
            match (kv.key.as_str(), value) {
                (HTTP_REQUEST_METHOD, Some(any_value::Value::StringValue(s))) => method = Some(s),
                (HTTP_ROUTE, Some(any_value::Value::StringValue(s))) => route = Some(s),
                (HTTP_RESPONSE_STATUS_CODE, Some(any_value::Value::IntValue(i))) => {
                    status = u16::try_from(*i).unwrap_or(u16::MAX)
                }
                (ERROR_TYPE, Some(any_value::Value::StringValue(s))) => error_type = Some(s),
                _ => {}
            }
        }
        method.map(String::as_str) == Some(METHODS[usize::from(self.key.method)])
            && route.map(String::as_str) == Some(self.route.as_str())
            && status == self.key.status
            && error_type.map(String::as_str) == self.key.error_type.as_ref().map(|e| e.as_str())
    }
}

/// The exemplar slots of every duration series.
#[derive(Default)]
pub struct ExemplarStore {
    series: Mutex<HashMap<SeriesKey, Series, FxBuildHasher>>,
}

/// The bucket a value falls in, as OTLP counts them: bucket i holds
/// (bounds[i-1], bounds[i]], the last one everything above the last bound.
fn bucket_of(value: f64) -> usize {
    DURATION_BUCKETS.partition_point(|bound| *bound < value)
}

fn exemplar(value: f64, sampled: Sampled<'_>) -> Exemplar {
    let Sampled {
        span,
        request_id,
        time,
    } = sampled;
    Exemplar {
        value,
        time_unix_nano: time.0,
        trace_id: span.trace_id().to_bytes(),
        span_id: span.span_id().to_bytes(),
        request_id: (request_id.as_str().len() <= MAX_REQUEST_ID_LEN).then(|| request_id.shared()),
    }
}

impl ExemplarStore {
    /// Keeps this request as its series' exemplar for the value's bucket.
    /// Unsampled requests are skipped: their trace would lead nowhere.
    pub fn offer(&self, key: SeriesKey, route: &Arc<Route>, value: f64, sampled: Sampled<'_>) {
        if !sampled.span.is_sampled() {
            return;
        }
        self.update(
            key,
            route,
            value,
            Some(exemplar(value, sampled)),
            None::<fn() -> BoundHistogram<f64>>,
        );
    }

    /// The lean path's one call per request: records `value` in the series' bound
    /// histogram (bound with `bind` at the series' first request) and keeps the
    /// request as the bucket's exemplar if its trace is sampled. False when the
    /// series is past the bound (`MAX_SERIES`): the caller records it unbound.
    pub fn record(
        &self,
        key: SeriesKey,
        route: &Arc<Route>,
        value: f64,
        sampled: Option<Sampled<'_>>,
        bind: impl FnOnce() -> BoundHistogram<f64>,
    ) -> bool {
        let exemplar = sampled
            .filter(|sampled| sampled.span.is_sampled())
            .map(|sampled| exemplar(value, sampled));
        self.update(key, route, value, exemplar, Some(bind))
    }

    /// The series' exemplar slot and, with `bind`, its duration. False when the
    /// series is not kept.
    fn update(
        &self,
        key: SeriesKey,
        route: &Arc<Route>,
        value: f64,
        exemplar: Option<Exemplar>,
        bind: Option<impl FnOnce() -> BoundHistogram<f64>>,
    ) -> bool {
        let bucket = bucket_of(value);
        let mut series = self.series.lock();
        if let Some(s) = series.get_mut(&key) {
            if bind.is_some() {
                match &s.duration {
                    Some(duration) => duration.record(value),
                    // The series was made by `offer` (stock path): not ours to count.
                    None => return false,
                }
            }
            // Swap out, so the old exemplar's request id is freed after unlocking.
            let _old = exemplar.and_then(|e| s.slots[bucket].replace(e));
            drop(series);
            return true;
        }
        if series.len() >= MAX_SERIES {
            return false;
        }
        let duration = bind.map(|bind| bind());
        if let Some(duration) = &duration {
            duration.record(value);
        }
        let mut slots: [Option<Exemplar>; BUCKETS] = Default::default();
        slots[bucket] = exemplar;
        series.insert(
            key.clone(),
            Series {
                route: Arc::clone(route),
                key,
                slots,
                duration,
            },
        );
        true
    }

    /// Copies the exemplars into the duration histogram's encoded data points.
    pub fn attach(&self, request: &mut ExportMetricsServiceRequest) {
        let series = self.series.lock();
        if series.is_empty() {
            return;
        }
        let histograms = request
            .resource_metrics
            .iter_mut()
            .flat_map(|rm| rm.scope_metrics.iter_mut())
            .flat_map(|sm| sm.metrics.iter_mut())
            .filter(|m| m.name == DURATION_METRIC);
        for metric in histograms {
            let Some(Data::Histogram(histogram)) = &mut metric.data else {
                continue;
            };
            for point in &mut histogram.data_points {
                if let Some(s) = series.values().find(|s| s.matches(&point.attributes)) {
                    fill(point, s);
                }
            }
        }
    }
}

fn fill(point: &mut HistogramDataPoint, series: &Series) {
    point.exemplars = series
        .slots
        .iter()
        .flatten()
        .map(|e| ProtoExemplar {
            filtered_attributes: e
                .request_id
                .iter()
                .map(|id| KeyValue {
                    key: REQUEST_ID.to_owned(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(id.to_string())),
                    }),
                    ..Default::default()
                })
                .collect(),
            time_unix_nano: e.time_unix_nano,
            span_id: e.span_id.to_vec(),
            trace_id: e.trace_id.to_vec(),
            value: Some(ExemplarValue::AsDouble(e.value)),
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry_proto::tonic::metrics::v1::{
        Histogram, Metric, ResourceMetrics, ScopeMetrics,
    };

    fn span(sampled: bool, n: u8) -> SpanContext {
        SpanContext::new(
            TraceId::from_bytes([n; 16]),
            SpanId::from_bytes([n; 8]),
            if sampled {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            },
            false,
            TraceState::default(),
        )
    }

    fn string(key: &'static str, value: &str) -> KeyValue {
        (&opentelemetry::KeyValue::new(key, value.to_owned())).into()
    }

    fn point(
        route: &str,
        method: &str,
        status: Option<i64>,
        error: Option<&str>,
    ) -> HistogramDataPoint {
        let mut attributes = vec![
            string(HTTP_REQUEST_METHOD, method),
            string(HTTP_ROUTE, route),
        ];
        if let Some(status) = status {
            attributes.push(KeyValue {
                key: HTTP_RESPONSE_STATUS_CODE.into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::IntValue(status)),
                }),
                ..Default::default()
            });
        }
        if let Some(error) = error {
            attributes.push(string(ERROR_TYPE, error));
        }
        HistogramDataPoint {
            attributes,
            ..Default::default()
        }
    }

    fn request(points: Vec<HistogramDataPoint>, name: &str) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: name.into(),
                        data: Some(Data::Histogram(Histogram {
                            data_points: points,
                            aggregation_temporality: 2,
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn points(request: &ExportMetricsServiceRequest) -> &[HistogramDataPoint] {
        match &request.resource_metrics[0].scope_metrics[0].metrics[0].data {
            Some(Data::Histogram(h)) => &h.data_points,
            _ => panic!("not a histogram"),
        }
    }

    fn rid(id: &str) -> RequestId {
        RequestId::parse(id.as_bytes()).expect("a valid request id")
    }

    fn route(template: &str) -> Arc<Route> {
        super::super::route::intern(template)
    }

    #[test]
    fn buckets_follow_otlp_upper_inclusive_bounds() {
        let cases = [
            (0.0, 0),
            (0.005, 0),
            (0.0051, 1),
            (1.0, 9),
            (1.5, 10),
            (60.0, 15),
            (61.0, 16),
        ];
        for (value, bucket) in cases {
            assert_eq!(bucket_of(value), bucket, "value {value}");
        }
    }

    /// The fixed time every test request ends at.
    const ENDED_AT: UnixNanos = UnixNanos(1_700_000_000_000_000_042);

    fn at_end<'a>(span: &'a SpanContext, request_id: &'a RequestId) -> Sampled<'a> {
        Sampled {
            span,
            request_id,
            time: ENDED_AT,
        }
    }

    /// A histogram of a meter whose bound handles the test can count.
    fn histogram() -> opentelemetry::metrics::Histogram<f64> {
        use opentelemetry::metrics::MeterProvider as _;
        opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .build()
            .meter("test")
            .f64_histogram("d")
            .build()
    }

    #[test]
    fn a_series_is_bound_once_and_kept_until_the_bound() {
        let store = ExemplarStore::default();
        let h = histogram();
        let projects = route("/projects/{id}");
        let id = rid("req-1");
        let binds = std::cell::Cell::new(0);
        let bind = || {
            binds.set(binds.get() + 1);
            h.bind(&[])
        };
        let key = |status| SeriesKey::new(&projects, 0, Some(status), None);
        for sampled in [true, false, true] {
            assert!(store.record(
                key(200),
                &projects,
                0.01,
                Some(at_end(&span(sampled, 1), &id)),
                bind
            ));
        }
        assert!(store.record(key(404), &projects, 0.01, None, bind));
        assert_eq!(binds.get(), 2, "one bind per series");

        // A series `offer` made (the stock path) is not counted here.
        store.offer(key(500), &projects, 0.2, at_end(&span(true, 2), &id));
        assert!(!store.record(key(500), &projects, 0.2, None, bind));

        // Past the bound: not kept, not bound; the caller records it unbound.
        for status in 0..MAX_SERIES as u16 {
            store.record(
                SeriesKey::new(&projects, 1, Some(status), None),
                &projects,
                0.01,
                None,
                || h.bind(&[]),
            );
        }
        let before = binds.get();
        assert!(!store.record(
            SeriesKey::new(&projects, 2, Some(1), None),
            &projects,
            0.01,
            None,
            bind
        ));
        assert_eq!(binds.get(), before);
    }

    #[test]
    fn the_last_sampled_request_per_bucket_reaches_its_series_point() {
        let store = ExemplarStore::default();
        let projects = route("/projects/{id}");
        let health = route("/health");
        let id = rid("req-1");
        let key = |r: &Arc<Route>, status| SeriesKey::new(r, 0, Some(status), None);
        // In order: two slow ones in one bucket (the later kept), a fast sampled one,
        // a fast unsampled one (skipped), and another route's.
        let req2 = rid("req-2");
        let offers = [
            (&projects, 1.5, true, 1, &id),
            (&projects, 1.7, true, 2, &req2),
            (&projects, 0.003, true, 3, &id),
            (&projects, 0.004, false, 4, &id),
            (&health, 0.001, true, 5, &id),
        ];
        for (r, value, sampled, n, request_id) in offers {
            store.offer(key(r, 200), r, value, at_end(&span(sampled, n), request_id));
        }

        let mut req = request(
            vec![
                point("/projects/{id}", "GET", Some(200), None),
                point("/projects/{id}", "GET", Some(404), None),
                point("/health", "GET", Some(200), None),
            ],
            DURATION_METRIC,
        );
        store.attach(&mut req);
        let pts = points(&req);

        let slow = &pts[0].exemplars;
        assert_eq!(slow.len(), 2, "one per bucket used: {slow:?}");
        assert_eq!(slow[0].value, Some(ExemplarValue::AsDouble(0.003)));
        assert_eq!(slow[0].trace_id, vec![3; 16]);
        assert_eq!(slow[1].value, Some(ExemplarValue::AsDouble(1.7)));
        assert_eq!(slow[1].trace_id, vec![2; 16]);
        assert_eq!(slow[1].span_id, vec![2; 8]);
        assert_eq!(
            slow[1].filtered_attributes,
            vec![string(REQUEST_ID, "req-2")]
        );
        assert_eq!(
            slow[1].time_unix_nano, ENDED_AT.0,
            "the request's end, as given"
        );
        assert!(
            pts[1].exemplars.is_empty(),
            "another status is another series"
        );
        assert_eq!(pts[2].exemplars.len(), 1);
        assert_eq!(pts[2].exemplars[0].trace_id, vec![5; 16]);
    }

    #[test]
    fn error_type_and_missing_status_tell_series_apart() {
        let store = ExemplarStore::default();
        let r = route("/todos/{id}");
        let id = rid("r");
        let panic = StringValue::from("panic");
        store.offer(
            SeriesKey::new(&r, 1, Some(500), Some(&panic)),
            &r,
            0.2,
            at_end(&span(true, 7), &id),
        );
        let cancelled = StringValue::from("cancelled");
        store.offer(
            SeriesKey::new(&r, 1, None, Some(&cancelled)),
            &r,
            0.3,
            at_end(&span(true, 8), &id),
        );

        let mut req = request(
            vec![
                point("/todos/{id}", "POST", Some(500), Some("panic")),
                point("/todos/{id}", "POST", Some(500), Some("database")),
                point("/todos/{id}", "POST", None, Some("cancelled")),
                point("/todos/{id}", "GET", Some(500), Some("panic")),
            ],
            DURATION_METRIC,
        );
        store.attach(&mut req);
        let pts = points(&req);
        assert_eq!(pts[0].exemplars[0].trace_id, vec![7; 16]);
        assert!(pts[1].exemplars.is_empty());
        assert_eq!(pts[2].exemplars[0].trace_id, vec![8; 16]);
        assert!(pts[3].exemplars.is_empty());
    }

    #[test]
    fn long_request_ids_are_left_out_and_other_metrics_untouched() {
        let store = ExemplarStore::default();
        let r = route("/projects");
        let long = rid(&"x".repeat(MAX_REQUEST_ID_LEN + 1));
        store.offer(
            SeriesKey::new(&r, 0, Some(200), None),
            &r,
            0.01,
            at_end(&span(true, 9), &long),
        );

        let mut other = request(vec![point("/projects", "GET", Some(200), None)], "other");
        store.attach(&mut other);
        assert!(points(&other)[0].exemplars.is_empty());

        let mut req = request(
            vec![point("/projects", "GET", Some(200), None)],
            DURATION_METRIC,
        );
        store.attach(&mut req);
        let exemplar = &points(&req)[0].exemplars[0];
        assert!(exemplar.filtered_attributes.is_empty());
        assert_eq!(exemplar.trace_id, vec![9; 16]);
    }
}
