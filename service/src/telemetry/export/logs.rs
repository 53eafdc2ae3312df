//! `ExportLogsServiceRequest` encoding straight from the SDK's log records, and
//! from the lean path's own records (`telemetry::access_log`,
//! `telemetry::event_record`) field by field.

use std::sync::LazyLock;

use opentelemetry::logs::AnyValue as LogValue;
use opentelemetry::trace::SpanContext;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::SdkLogRecord;
use tracing::Level;

use super::proto::*;
use super::resource::{group_by_scope, put_scope, EncodedResource};
use super::route_attributes::RouteAttributes;
use super::values::{log_value_len, put_log_kv, put_log_value, put_scalar_kv};
use crate::telemetry::access_log::{self, AccessRecord};
use crate::telemetry::event_record::{self, EventAttr, EventRecord};
use crate::telemetry::unix_nanos::UnixNanos;

const RESOURCE_LOGS: u32 = 1;
const RESOURCE: u32 = 1;
const SCOPE_LOGS: u32 = 2;
const SCOPE: u32 = 1;
const LOG_RECORDS: u32 = 2;
const SCOPE_SCHEMA_URL: u32 = 3;
// LogRecord
const TIME: u32 = 1;
const SEVERITY_NUMBER: u32 = 2;
const SEVERITY_TEXT: u32 = 3;
const BODY: u32 = 5;
const ATTRIBUTES: u32 = 6;
const FLAGS: u32 = 8;
const TRACE_ID: u32 = 9;
const SPAN_ID: u32 = 10;
const OBSERVED_TIME: u32 = 11;
const EVENT_NAME: u32 = 12;

/// One queued log record: an SDK record with the scope it was emitted under, or
/// one of the lean path's own that skipped the SDK: an access record
/// (`telemetry::access_log`) or a `tracing` event's (`telemetry::event_record`).
#[derive(Debug, Clone)]
pub enum LogItem {
    /// Boxed: the SDK record is several times the size of an access record, and
    /// every queued item is moved at its size.
    Sdk {
        record: Box<SdkLogRecord>,
        scope: InstrumentationScope,
    },
    Access(AccessRecord),
    Event(EventRecord),
}

/// The scope of the tracing bridge's logger (`provider.logger("")`), which the
/// lean path's records would have had through it.
static BRIDGE_SCOPE: LazyLock<InstrumentationScope> =
    LazyLock::new(|| InstrumentationScope::builder("").build());

impl LogItem {
    /// The scope name on the wire: the tracing bridge's target, like the
    /// OTLP exporter of opentelemetry-rust does.
    fn scope_name(&self) -> &str {
        match self {
            LogItem::Sdk { record, scope } => match record.target() {
                Some(target) => target.as_ref(),
                None => scope.name(),
            },
            LogItem::Access(_) => access_log::TARGET,
            LogItem::Event(event) => event.target,
        }
    }

    fn scope(&self) -> &InstrumentationScope {
        match self {
            LogItem::Sdk { scope, .. } => scope,
            LogItem::Access(_) | LogItem::Event(_) => &BRIDGE_SCOPE,
        }
    }

    /// Writes the record as a `ScopeLogs.log_records` entry.
    fn put(&self, routes: &mut RouteAttributes, buf: &mut Buf) {
        put_nested(LOG_RECORDS, 2, buf, |buf| match self {
            LogItem::Sdk { record, .. } => put_record(record, buf),
            LogItem::Access(access) => put_access(access, routes, buf),
            LogItem::Event(event) => put_event(event, buf),
        });
    }
}

/// A lean record's fields, in `put_record`'s order and with its rules (both times
/// set, the span's ids when it has a context); `attributes` writes its attributes.
fn put_own_record(
    time: UnixNanos,
    level: Level,
    body: Option<&LogValue>,
    span_context: Option<&SpanContext>,
    event_name: &str,
    buf: &mut Buf,
    attributes: impl FnOnce(&mut Buf),
) {
    let UnixNanos(time) = time;
    let (severity, severity_text) = event_record::severity(level);
    put_fixed64(TIME, time, buf);
    put_varint(SEVERITY_NUMBER, severity, buf);
    put_bytes(SEVERITY_TEXT, severity_text.as_bytes(), buf);
    if let Some(body) = body {
        put_len(BODY, log_value_len(body), buf);
        put_log_value(body, buf);
    }
    attributes(buf);
    if let Some(cx) = span_context {
        put_fixed32(FLAGS, u32::from(cx.trace_flags().to_u8()), buf);
        put_bytes(TRACE_ID, &cx.trace_id().to_bytes(), buf);
        put_bytes(SPAN_ID, &cx.span_id().to_bytes(), buf);
    }
    put_fixed64(OBSERVED_TIME, time, buf);
    put_bytes(EVENT_NAME, event_name.as_bytes(), buf);
}

fn put_access(access: &AccessRecord, routes: &mut RouteAttributes, buf: &mut Buf) {
    let body = LogValue::from(access.body);
    let cx = access.span_context.as_ref();
    put_own_record(
        access.time,
        access.level,
        Some(&body),
        cx,
        access_log::EVENT_NAME,
        buf,
        |buf| {
            let route = access.route.as_str();
            routes.put(access.name, access.method, route, buf, |buf| {
                access.for_each_route_attribute(&mut |key, value| {
                    put_scalar_kv(ATTRIBUTES, key, value, buf)
                });
            });
            access.for_each_request_attribute(|key, value| {
                put_scalar_kv(ATTRIBUTES, key, value, buf)
            });
        },
    );
}

fn put_event(event: &EventRecord, buf: &mut Buf) {
    let body = event.body.as_ref();
    let cx = event.span_context.as_ref();
    put_own_record(event.time, event.level, body, cx, event.name, buf, |buf| {
        event.for_each_attribute(|key, value| match value {
            EventAttr::Scalar(scalar) => put_scalar_kv(ATTRIBUTES, key, scalar, buf),
            EventAttr::Value(value) => put_log_kv(ATTRIBUTES, key, value, buf),
        })
    });
}

fn put_record(record: &SdkLogRecord, buf: &mut Buf) {
    let time = record.timestamp().or(record.observed_timestamp());
    put_fixed64(TIME, time.map_or(0, |t| UnixNanos::of(t).0), buf);
    put_varint(
        SEVERITY_NUMBER,
        record.severity_number().map(|s| s as u64).unwrap_or(0),
        buf,
    );
    put_bytes(
        SEVERITY_TEXT,
        record.severity_text().unwrap_or("").as_bytes(),
        buf,
    );
    if let Some(body) = record.body() {
        put_len(BODY, log_value_len(body), buf);
        put_log_value(body, buf);
    }
    for (k, v) in record.attributes_iter() {
        put_log_kv(ATTRIBUTES, k.as_str(), v, buf);
    }
    if let Some(cx) = record.trace_context() {
        put_fixed32(
            FLAGS,
            cx.trace_flags.map(|f| u32::from(f.to_u8())).unwrap_or(0),
            buf,
        );
        put_bytes(TRACE_ID, &cx.trace_id.to_bytes(), buf);
        put_bytes(SPAN_ID, &cx.span_id.to_bytes(), buf);
    }
    put_fixed64(
        OBSERVED_TIME,
        record
            .observed_timestamp()
            .map_or(0, |t| UnixNanos::of(t).0),
        buf,
    );
    put_bytes(
        EVENT_NAME,
        record.event_name().unwrap_or("").as_bytes(),
        buf,
    );
}

/// Encodes batches of log records; keeps its scratch space between batches.
#[derive(Debug, Default)]
pub struct LogEncoder {
    resource: EncodedResource,
    groups: Vec<(usize, Vec<usize>)>,
    room: Room,
    routes: RouteAttributes,
}

impl LogEncoder {
    pub fn new(resource: EncodedResource) -> Self {
        LogEncoder {
            resource,
            ..Default::default()
        }
    }

    /// Appends one `ExportLogsServiceRequest` holding `items` to `out`.
    pub fn encode(&mut self, items: &[LogItem], out: &mut Buf) {
        let same = |a: &LogItem, b: &LogItem| {
            let (sa, sb) = (a.scope(), b.scope());
            a.scope_name() == b.scope_name() && (std::ptr::eq(sa, sb) || sa == sb)
        };
        group_by_scope(items, same, &mut self.groups);
        let groups = &self.groups;
        let start = self
            .room
            .reserve(items.len(), self.resource.body().len(), out);
        let routes = &mut self.routes;
        put_nested(RESOURCE_LOGS, 3, out, |out| {
            put_bytes_always(RESOURCE, self.resource.body(), out);
            for (first, members) in groups.iter() {
                let item = &items[*first];
                put_nested(SCOPE_LOGS, 3, out, |out| {
                    put_scope(SCOPE, item.scope_name(), item.scope(), out);
                    for &i in members {
                        items[i].put(routes, out);
                    }
                    put_bytes(
                        SCOPE_SCHEMA_URL,
                        item.scope().schema_url().unwrap_or("").as_bytes(),
                        out,
                    );
                });
            }
        });
        self.room.learn(items.len(), out.len() - start);
    }
}
