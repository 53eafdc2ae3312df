//! The access log: one record per request, with the request's ids.
//!
//! On the stock path (and for stdout) it is a `tracing` event that the log bridge
//! turns into an OTel log record. On the lean path the same record goes straight into
//! the export queue as an [`AccessRecord`]: the tracing dispatch, the bridge's field
//! visitor, the SDK record and its processors cost about 3,400 instructions per
//! request on the request thread, and encoding their generic record another 3,300 on
//! the export thread (callgrind, docs/performance.md). Both paths write the same
//! record: the contract test `both_paths_emit_the_same_spans_and_log_records`.

use std::sync::Arc;

use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::{Context, StringValue};
use tracing::Level;

use super::export::Scalar;
use super::request_context::{RequestFacts, RequestIds};
use super::route::Route;
use super::unix_nanos::UnixNanos;

/// The `tracing` target of the access events: the scope name of the records on the
/// wire, on both paths.
pub const TARGET: &str = module_path!();
/// The records' event name (the `tracing` event's `name:`), on both paths.
pub const EVENT_NAME: &str = "http.server.access";
/// `error.type` of a request dropped before its response.
pub const CANCELLED: &str = "cancelled";

/// What the access log says about a request; no status: dropped before a response.
pub struct Access<'a> {
    pub method: &'static str,
    pub route: &'a Route,
    /// The route's span name for the method (`Route::span_name`), made once per pair.
    pub name: &'static str,
    pub path: &'a Arc<str>,
    pub status: Option<u16>,
    pub duration_ms: f64,
}

impl Access<'_> {
    fn level(&self) -> Level {
        match self.status {
            None => Level::WARN,
            Some(status) if status >= 500 => Level::ERROR,
            Some(_) => Level::INFO,
        }
    }

    fn body(&self) -> &'static str {
        match self.status {
            None => "request cancelled before a response",
            Some(status) if status >= 500 => "request failed",
            Some(_) => "request completed",
        }
    }

    /// The access record as a `tracing` event (stdout, and the stock path's bridge).
    /// Its target is this module's path, [`TARGET`] (the macros cannot take
    /// `name:`, `target:` and dotted field names together).
    pub fn event(&self) {
        let route = self.route.as_str();
        let path: &str = self.path;
        let Some(status) = self.status else {
            tracing::warn!(
                name: EVENT_NAME,
                {
                    http.request.method = self.method,
                    http.route = route,
                    url.path = path,
                    error.type = CANCELLED,
                    duration_ms = self.duration_ms,
                },
                "request cancelled before a response"
            );
            return;
        };
        if status >= 500 {
            tracing::error!(
                name: EVENT_NAME,
                {
                    http.request.method = self.method,
                    http.route = route,
                    url.path = path,
                    http.response.status_code = status,
                    duration_ms = self.duration_ms,
                },
                "request failed"
            );
        } else {
            tracing::info!(
                name: EVENT_NAME,
                {
                    http.request.method = self.method,
                    http.route = route,
                    url.path = path,
                    http.response.status_code = status,
                    duration_ms = self.duration_ms,
                },
                "request completed"
            );
        }
    }

    /// The lean path's record at `time` (the request's end), if the log filter
    /// (RUST_LOG) lets its level through.
    pub fn record(
        &self,
        time: UnixNanos,
        cx: &Context,
        facts: Option<&RequestFacts>,
    ) -> Option<AccessRecord> {
        let level = self.level();
        let enabled = match level {
            Level::ERROR => tracing::enabled!(target: TARGET, Level::ERROR),
            Level::WARN => tracing::enabled!(target: TARGET, Level::WARN),
            _ => tracing::enabled!(target: TARGET, Level::INFO),
        };
        if !enabled {
            return None;
        }
        let span = cx.span();
        let span_context = span.span_context();
        Some(AccessRecord {
            time,
            level,
            body: self.body(),
            method: self.method,
            route: self.route.template.clone(),
            name: self.name,
            path: Arc::clone(self.path),
            status: self.status,
            duration_ms: self.duration_ms,
            ids: facts.map(RequestFacts::ids),
            span_context: span_context.is_valid().then(|| span_context.clone()),
        })
    }
}

/// One access log record as the lean path queues it: plain fields, encoded by
/// `export::logs` without an SDK record in between.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    pub time: UnixNanos,
    pub level: Level,
    pub body: &'static str,
    pub method: &'static str,
    pub route: StringValue,
    /// The route's span name for the method: names the pair for the encoder's
    /// blocks of route attributes (`export::route_attributes`).
    pub name: &'static str,
    pub path: Arc<str>,
    pub status: Option<u16>,
    pub duration_ms: f64,
    pub ids: Option<RequestIds>,
    pub span_context: Option<SpanContext>,
}

impl AccessRecord {
    /// OTel severity number and text of the record's level.
    pub fn severity(&self) -> (u64, &'static str) {
        super::event_record::severity(self.level)
    }

    /// The attributes, in the order the bridge and `logs::RequestContextProcessor`
    /// write them: the event's fields, then the request's ids.
    pub fn for_each_attribute(&self, mut f: impl FnMut(&'static str, Scalar<'_>)) {
        self.for_each_route_attribute(&mut f);
        self.for_each_request_attribute(f);
    }

    /// The attributes every request of the route and method shares, first: the
    /// lean encoder copies them from a block made once per pair.
    pub fn for_each_route_attribute(&self, f: &mut impl FnMut(&'static str, Scalar<'_>)) {
        f("http.request.method", Scalar::Str(self.method));
        f("http.route", Scalar::Str(self.route.as_str()));
    }

    /// The attributes after the route's.
    pub fn for_each_request_attribute(&self, mut f: impl FnMut(&'static str, Scalar<'_>)) {
        f("url.path", Scalar::Str(&self.path));
        match self.status {
            Some(status) => f("http.response.status_code", Scalar::Int(i64::from(status))),
            None => f("error.type", Scalar::Str(CANCELLED)),
        }
        f("duration_ms", Scalar::Double(self.duration_ms));
        if let Some(ids) = &self.ids {
            // An access record names no ids of its own.
            ids.for_each(|_| false, f);
        }
    }
}
