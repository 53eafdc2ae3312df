//! The lean path's log records of the service's own `tracing` events ("project
//! created"): the fields read by a visitor with the log bridge's rules
//! (opentelemetry-appender-tracing 0.33), the request's ids and trace context
//! added as `logs::RequestContextProcessor` and the SDK's logger add them, and the
//! record queued as plain fields that `export::logs` encodes without an SDK record.
//! Through the bridge, the SDK's logger and its two processors the same record cost
//! about 2,000 instructions on the request thread and a generic encoding on the
//! export thread (docs/performance.md). The access events have their own record
//! (`access_log`). The differential test `events_encode_as_the_bridge_makes_them`
//! holds both ways to the same bytes.

use opentelemetry::logs::AnyValue;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::Context;
use tracing::field::{Field, Visit};
use tracing::{Event, Level};

use super::export::Scalar;
use super::request_context::{self, RequestFacts, RequestIds};
use super::unix_nanos::UnixNanos;

/// OTel severity number and text of a `tracing` level (the bridge's mapping).
pub fn severity(level: Level) -> (u64, &'static str) {
    match level {
        Level::TRACE => (1, "TRACE"),
        Level::DEBUG => (5, "DEBUG"),
        Level::INFO => (9, "INFO"),
        Level::WARN => (13, "WARN"),
        Level::ERROR => (17, "ERROR"),
    }
}

/// One event field's value, as the bridge types it.
#[derive(Debug, Clone)]
pub enum FieldValue {
    Str(String),
    Int(i64),
    Double(f64),
    /// Booleans and bytes (rare in this service): the generic value path.
    Other(AnyValue),
}

/// One event as the lean path queues it.
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// Both the record's time and its observed time (the processor's rule).
    pub time: UnixNanos,
    pub level: Level,
    /// The scope name on the wire.
    pub target: &'static str,
    pub name: &'static str,
    pub body: Option<AnyValue>,
    pub fields: Vec<(&'static str, FieldValue)>,
    /// What the request knew when the event was emitted.
    pub ids: Option<RequestIds>,
    /// The current context's span, if it has one (the SDK logger's rule).
    pub span_context: Option<SpanContext>,
}

impl EventRecord {
    /// The record of `event`, emitted now in the current context.
    pub fn of(event: &Event<'_>) -> Self {
        let metadata = event.metadata();
        let mut visitor = FieldVisitor {
            body: None,
            fields: Vec::with_capacity(metadata.fields().len()),
        };
        event.record(&mut visitor);
        EventRecord {
            time: UnixNanos::now(),
            level: *metadata.level(),
            target: metadata.target(),
            name: metadata.name(),
            body: visitor.body,
            fields: visitor.fields,
            ids: request_context::with_current(RequestFacts::ids),
            span_context: Context::map_current(|cx| {
                cx.has_active_span()
                    .then(|| cx.span().span_context().clone())
            }),
        }
    }

    /// The attributes in the order the bridge and the processor write them: the
    /// event's fields, then the request's ids.
    pub fn for_each_attribute(&self, mut f: impl FnMut(&str, EventAttr<'_>)) {
        for (key, value) in &self.fields {
            let attr = match value {
                FieldValue::Str(s) => EventAttr::Scalar(Scalar::Str(s)),
                FieldValue::Int(i) => EventAttr::Scalar(Scalar::Int(*i)),
                FieldValue::Double(d) => EventAttr::Scalar(Scalar::Double(*d)),
                FieldValue::Other(value) => EventAttr::Value(value),
            };
            f(key, attr);
        }
        if let Some(ids) = &self.ids {
            let named = |key: &str| self.fields.iter().any(|(k, _)| *k == key);
            ids.for_each(named, |key, value| f(key, EventAttr::Scalar(value)));
        }
    }
}

/// One attribute as the encoder gets it.
#[derive(Debug, Clone, Copy)]
pub enum EventAttr<'a> {
    Scalar(Scalar<'a>),
    Value(&'a AnyValue),
}

/// The bridge's `EventVisitor` rules, into plain fields.
struct FieldVisitor {
    body: Option<AnyValue>,
    fields: Vec<(&'static str, FieldValue)>,
}

impl FieldVisitor {
    /// Integers beyond i64 become their decimal text, as in the bridge.
    fn int(&mut self, field: &Field, value: Option<i64>, text: impl FnOnce() -> String) {
        let value = match value {
            Some(i) => FieldValue::Int(i),
            None => FieldValue::Str(text()),
        };
        self.fields.push((field.name(), value));
    }
}

impl Visit for FieldVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.body = Some(text.into());
        } else {
            self.fields.push((field.name(), FieldValue::Str(text)));
        }
    }

    fn record_error(&mut self, _field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.fields
            .push(("exception.message", FieldValue::Str(value.to_string())));
    }

    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.fields
            .push((field.name(), FieldValue::Other(AnyValue::from(value))));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.body = Some(AnyValue::from(value.to_owned()));
        } else {
            self.fields
                .push((field.name(), FieldValue::Str(value.to_owned())));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields
            .push((field.name(), FieldValue::Other(AnyValue::from(value))));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields.push((field.name(), FieldValue::Double(value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.push((field.name(), FieldValue::Int(value)));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.int(field, i64::try_from(value).ok(), || format!("{value:?}"));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.int(field, i64::try_from(value).ok(), || format!("{value:?}"));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.int(field, i64::try_from(value).ok(), || format!("{value:?}"));
    }
}
