//! Client spans around store calls, children of the request's server span. On the
//! lean path a [`DbSpanRecord`] of our own (ids and sampling as the SDK's tracer
//! would give them, `server_span::LeanSpans::begin`), encoded field by field by
//! `export::spans`; on the stock path a `tracing` span. Through the SDK's tracer
//! the same span cost about 1,900 instructions on the request thread (a span
//! builder, three `KeyValue`s, the context cloned, a recording span, the
//! processor call) and a generic encoding and drop on the export thread.

use std::sync::Arc;

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::export::Scalar;
use super::metrics::ERROR_TYPE;
use super::server_span::{Attr, LeanSpans};
use super::tracer::{self, SpanApi};
use super::unix_nanos::UnixNanos;

/// One kind of store call: its semconv attributes and span name
/// ("{db.operation.name} {db.collection.name}"), all fixed at compile time.
#[derive(Debug, Clone, Copy)]
pub struct DbOp {
    pub operation: &'static str,
    pub collection: &'static str,
    pub span_name: &'static str,
}

/// `db_op!("INSERT", "projects")`: a [`DbOp`] whose span name is built by the compiler.
#[macro_export]
macro_rules! db_op {
    ($operation:literal, $collection:literal) => {
        $crate::telemetry::db_span::DbOp {
            operation: $operation,
            collection: $collection,
            span_name: concat!($operation, " ", $collection),
        }
    };
}

/// A store call's span while the call runs (on the stack: boxing it would
/// allocate per call).
#[allow(clippy::large_enum_variant)]
pub enum DbSpan {
    /// Telemetry off, or the request not sampled.
    Off,
    /// The lean path's own span: its record, completed and queued when it ends.
    Lean(&'static LeanSpans, DbSpanRecord),
    /// The stock path: a `tracing` span, ended by tracing-opentelemetry when dropped.
    Tracing(tracing::Span),
}

impl DbSpan {
    pub fn start(system: &'static str, op: DbOp) -> DbSpan {
        // Telemetry off: no attributes built, no context read.
        let Some(api) = tracer::get() else {
            return DbSpan::Off;
        };
        match api {
            SpanApi::Lean(spans) => Context::map_current(|cx| {
                let begun = spans.begin(cx, op.span_name, &SpanKind::Client);
                if !begun.sampled {
                    return DbSpan::Off;
                }
                let start_time = UnixNanos::now();
                DbSpan::Lean(
                    spans,
                    DbSpanRecord {
                        span_context: begun.span_context,
                        parent_span_id: begun.parent_span_id,
                        parent_is_remote: begun.parent_is_remote,
                        system,
                        op,
                        start_time,
                        end_time: start_time,
                        sampler_attributes: begun.sampler_attributes,
                        error: None,
                        scope: Arc::clone(spans.scope()),
                    },
                )
            }),
            SpanApi::Tracing => {
                let span = tracing::info_span!(
                    target: tracer::SPAN_TARGET,
                    "db",
                    otel.name = op.span_name,
                    otel.kind = "client"
                );
                // The request's context is the OTel one, not tracing's current span.
                let _ = span.set_parent(Context::current());
                for attribute in db_attributes(system, op) {
                    span.set_attribute(attribute.key, attribute.value);
                }
                DbSpan::Tracing(span)
            }
        }
    }

    pub fn end(self, error: Option<&anyhow::Error>) {
        match self {
            DbSpan::Off => {}
            DbSpan::Lean(spans, mut span) => {
                span.end_time = UnixNanos::now();
                span.error = error.map(|error| error.to_string());
                spans.sink().push_db(span);
            }
            DbSpan::Tracing(span) => {
                if let Some(error) = error {
                    span.set_attribute(ERROR_TYPE, DB_ERROR);
                    span.set_status(Status::error(error.to_string()));
                }
            }
        }
    }
}

/// `error.type` of a failed store call.
const DB_ERROR: &str = "db_error";

/// The span's attributes as OTel key-values (the stock path), in the order both
/// paths write them.
fn db_attributes(system: &'static str, op: DbOp) -> [KeyValue; 3] {
    [
        KeyValue::new(DB_SYSTEM_NAME, system),
        KeyValue::new(DB_OPERATION_NAME, op.operation),
        KeyValue::new(DB_COLLECTION_NAME, op.collection),
    ]
}

const DB_SYSTEM_NAME: &str = "db.system.name";
const DB_OPERATION_NAME: &str = "db.operation.name";
const DB_COLLECTION_NAME: &str = "db.collection.name";

/// A finished lean database span as the lean path queues it.
#[derive(Debug, Clone)]
pub struct DbSpanRecord {
    pub span_context: SpanContext,
    pub parent_span_id: SpanId,
    pub parent_is_remote: bool,
    pub system: &'static str,
    pub op: DbOp,
    pub start_time: UnixNanos,
    pub end_time: UnixNanos,
    pub sampler_attributes: Vec<KeyValue>,
    /// The failed call's error, the span's status description.
    pub error: Option<String>,
    pub scope: Arc<InstrumentationScope>,
}

impl DbSpanRecord {
    /// The attributes in the SDK span's order: the call's, the sampler's, then
    /// `error.type` if the call failed.
    pub fn for_each_attribute(&self, mut f: impl FnMut(&str, Attr<'_>)) {
        f(DB_SYSTEM_NAME, Attr::Scalar(Scalar::Str(self.system)));
        f(
            DB_OPERATION_NAME,
            Attr::Scalar(Scalar::Str(self.op.operation)),
        );
        f(
            DB_COLLECTION_NAME,
            Attr::Scalar(Scalar::Str(self.op.collection)),
        );
        for kv in &self.sampler_attributes {
            f(kv.key.as_str(), Attr::Value(&kv.value));
        }
        if self.error.is_some() {
            f(ERROR_TYPE, Attr::Scalar(Scalar::Str(DB_ERROR)));
        }
    }

    /// The status the SDK's span would end with.
    pub fn status(&self) -> Status {
        match &self.error {
            Some(error) => Status::error(error.clone()),
            None => Status::Unset,
        }
    }

    /// The same span as the SDK's `SpanData` (the differential tests encode both).
    pub fn to_span_data(&self) -> opentelemetry_sdk::trace::SpanData {
        let mut attributes = db_attributes(self.system, self.op).to_vec();
        attributes.extend(self.sampler_attributes.iter().cloned());
        if self.error.is_some() {
            attributes.push(KeyValue::new(ERROR_TYPE, DB_ERROR));
        }
        opentelemetry_sdk::trace::SpanData {
            span_context: self.span_context.clone(),
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_is_remote,
            span_kind: SpanKind::Client,
            name: self.op.span_name.into(),
            start_time: self.start_time.to_system_time(),
            end_time: self.end_time.to_system_time(),
            attributes,
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: self.status(),
            instrumentation_scope: (*self.scope).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn span_names_follow_the_db_conventions() {
        let op = crate::db_op!("INSERT", "projects");
        assert_eq!(op.span_name, "INSERT projects");
        assert_eq!((op.operation, op.collection), ("INSERT", "projects"));
    }
}
