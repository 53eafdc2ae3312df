//! `ExportTraceServiceRequest` encoding straight from the SDK's `SpanData`, and
//! from the lean path's own span records (`telemetry::server_span`,
//! `telemetry::db_span`) field by field.

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceState};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::SpanData;

use super::proto::*;
use super::resource::{group_by_scope, put_scope, EncodedResource};
use super::route_attributes::RouteAttributes;
use super::values::{put_kv, put_scalar_kv};
use crate::telemetry::db_span::DbSpanRecord;
use crate::telemetry::server_span::{Attr, ServerSpanRecord};
use crate::telemetry::unix_nanos::UnixNanos;

/// One queued span: from the SDK (any span made through its tracer), or the lean
/// path's own server or database span.
#[derive(Debug, Clone)]
pub enum SpanItem {
    Sdk(SpanData),
    Server(ServerSpanRecord),
    Db(DbSpanRecord),
}

impl SpanItem {
    fn scope(&self) -> &InstrumentationScope {
        match self {
            SpanItem::Sdk(span) => &span.instrumentation_scope,
            SpanItem::Server(span) => &span.scope,
            SpanItem::Db(span) => &span.scope,
        }
    }

    fn span_context(&self) -> &SpanContext {
        match self {
            SpanItem::Sdk(span) => &span.span_context,
            SpanItem::Server(span) => &span.span_context,
            SpanItem::Db(span) => &span.span_context,
        }
    }

    pub fn is_sampled(&self) -> bool {
        self.span_context().is_sampled()
    }

    /// Writes the span as a `ScopeSpans.spans` entry.
    fn put(&self, routes: &mut RouteAttributes, buf: &mut Buf) {
        let state = trace_state(self.span_context().trace_state());
        put_nested(SPANS, 2, buf, |buf| match self {
            SpanItem::Sdk(span) => put_span(span, state.as_deref(), buf),
            SpanItem::Server(span) => put_server_span(span, state.as_deref(), routes, buf),
            SpanItem::Db(span) => put_db_span(span, state.as_deref(), buf),
        });
    }
}

fn put_attr(key: &str, value: Attr<'_>, buf: &mut Buf) {
    match value {
        Attr::Scalar(scalar) => put_scalar_kv(ATTRIBUTES, key, scalar, buf),
        Attr::Value(value) => put_kv(ATTRIBUTES, key, value, buf),
    }
}

/// What every span starts with, and its flags: the same fields of an SDK span and
/// of a server span record, encoded once.
struct SpanHead<'a> {
    span_context: &'a SpanContext,
    parent_span_id: SpanId,
    parent_is_remote: bool,
    name: &'a str,
    kind: &'a SpanKind,
    start: UnixNanos,
    end: UnixNanos,
}

impl<'a> SpanHead<'a> {
    fn of_sdk(span: &'a SpanData) -> Self {
        SpanHead {
            span_context: &span.span_context,
            parent_span_id: span.parent_span_id,
            parent_is_remote: span.parent_span_is_remote,
            name: &span.name,
            kind: &span.span_kind,
            start: UnixNanos::of(span.start_time),
            end: UnixNanos::of(span.end_time),
        }
    }

    fn of_server(span: &'a ServerSpanRecord) -> Self {
        SpanHead {
            span_context: &span.span_context,
            parent_span_id: span.parent_span_id,
            parent_is_remote: span.parent_is_remote,
            name: span.name,
            kind: &SpanKind::Server,
            start: span.start_time,
            end: span.end_time,
        }
    }

    fn of_db(span: &'a DbSpanRecord) -> Self {
        SpanHead {
            span_context: &span.span_context,
            parent_span_id: span.parent_span_id,
            parent_is_remote: span.parent_is_remote,
            name: span.op.span_name,
            kind: &SpanKind::Client,
            start: span.start_time,
            end: span.end_time,
        }
    }

    /// Trace flags plus whether the parent is remote (the stock transform's encoding).
    fn flags(&self) -> u32 {
        let remote = if self.parent_is_remote {
            HAS_IS_REMOTE | IS_REMOTE
        } else {
            HAS_IS_REMOTE
        };
        u32::from(self.span_context.trace_flags().to_u8()) | remote
    }

    fn put(&self, state: Option<&str>, buf: &mut Buf) {
        put_bytes(TRACE_ID, &self.span_context.trace_id().to_bytes(), buf);
        put_bytes(SPAN_ID, &self.span_context.span_id().to_bytes(), buf);
        put_bytes(TRACE_STATE, state.unwrap_or("").as_bytes(), buf);
        if self.parent_span_id != SpanId::INVALID {
            put_bytes(PARENT_SPAN_ID, &self.parent_span_id.to_bytes(), buf);
        }
        put_bytes(NAME, self.name.as_bytes(), buf);
        put_varint(KIND, kind(self.kind), buf);
        put_fixed64(START, self.start.0, buf);
        put_fixed64(END, self.end.0, buf);
    }
}

/// `Status::error("")`, the server span's status on error (as on the stock path).
const ERROR_STATUS: Status = Status::Error {
    description: std::borrow::Cow::Borrowed(""),
};

/// A server span record's body: no events, links or dropped counts, a status only
/// on error. The same bytes as its `SpanData` (the differential tests).
fn put_server_span(
    span: &ServerSpanRecord,
    state: Option<&str>,
    routes: &mut RouteAttributes,
    buf: &mut Buf,
) {
    let head = SpanHead::of_server(span);
    head.put(state, buf);
    let start = &span.start;
    routes.put(span.name, start.method, start.route.as_str(), buf, |buf| {
        start.for_each_route_attribute(&mut |key, value| put_attr(key, value, buf));
    });
    span.for_each_request_attribute(|key, value| put_attr(key, value, buf));
    if span.error {
        put_status(&ERROR_STATUS, buf);
    }
    put_fixed32(FLAGS, head.flags(), buf);
}

/// A database span record's body: no events, links or dropped counts, a status
/// only on error. The same bytes as its `SpanData` (the differential tests).
fn put_db_span(span: &DbSpanRecord, state: Option<&str>, buf: &mut Buf) {
    let head = SpanHead::of_db(span);
    head.put(state, buf);
    span.for_each_attribute(|key, value| put_attr(key, value, buf));
    if span.error.is_some() {
        put_status(&span.status(), buf);
    }
    put_fixed32(FLAGS, head.flags(), buf);
}

// ExportTraceServiceRequest / ResourceSpans / ScopeSpans
const RESOURCE_SPANS: u32 = 1;
const RESOURCE: u32 = 1;
const SCOPE_SPANS: u32 = 2;
const SCOPE: u32 = 1;
const SPANS: u32 = 2;
// Span
const TRACE_ID: u32 = 1;
const SPAN_ID: u32 = 2;
const TRACE_STATE: u32 = 3;
const PARENT_SPAN_ID: u32 = 4;
const NAME: u32 = 5;
const KIND: u32 = 6;
const START: u32 = 7;
const END: u32 = 8;
const ATTRIBUTES: u32 = 9;
const DROPPED_ATTRIBUTES: u32 = 10;
const EVENTS: u32 = 11;
const DROPPED_EVENTS: u32 = 12;
const LINKS: u32 = 13;
/// ScopeSpans.schema_url (after the spans: protobuf fields may come in any order).
const SCOPE_SCHEMA_URL: u32 = 3;
const DROPPED_LINKS: u32 = 14;
const STATUS: u32 = 15;
const FLAGS: u32 = 16;
// Span.Event
const EVENT_TIME: u32 = 1;
const EVENT_NAME: u32 = 2;
const EVENT_ATTRIBUTES: u32 = 3;
const EVENT_DROPPED_ATTRIBUTES: u32 = 4;
// Span.Link
const LINK_TRACE_ID: u32 = 1;
const LINK_SPAN_ID: u32 = 2;
const LINK_TRACE_STATE: u32 = 3;
const LINK_ATTRIBUTES: u32 = 4;
const LINK_DROPPED_ATTRIBUTES: u32 = 5;
const LINK_FLAGS: u32 = 6;
// Status
const STATUS_MESSAGE: u32 = 2;
const STATUS_CODE: u32 = 3;
// SpanFlags: bit 8 says whether bit 9 (parent is remote) is known.
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn trace_state(state: &TraceState) -> Option<String> {
    let header = state.header();
    (!header.is_empty()).then_some(header)
}

fn status_len(status: &Status) -> usize {
    match status {
        Status::Unset => 0,
        Status::Ok => varint_field(STATUS_CODE, 1),
        Status::Error { description } => {
            bytes_field(STATUS_MESSAGE, description.as_bytes()) + varint_field(STATUS_CODE, 2)
        }
    }
}

fn put_status(status: &Status, buf: &mut Buf) {
    let len = status_len(status);
    if len == 0 {
        return;
    }
    put_len(STATUS, len, buf);
    match status {
        Status::Unset => {}
        Status::Ok => put_varint(STATUS_CODE, 1, buf),
        Status::Error { description } => {
            put_bytes(STATUS_MESSAGE, description.as_bytes(), buf);
            put_varint(STATUS_CODE, 2, buf);
        }
    }
}

/// A link's flags: trace flags plus whether the linked context is remote (the
/// stock transform's encoding).
fn link_flags(link: &opentelemetry::trace::Link) -> u32 {
    let remote = if link.span_context.is_remote() {
        HAS_IS_REMOTE | IS_REMOTE
    } else {
        HAS_IS_REMOTE
    };
    u32::from(link.span_context.trace_flags().to_u8()) | remote
}

fn put_span(span: &SpanData, state: Option<&str>, buf: &mut Buf) {
    let head = SpanHead::of_sdk(span);
    head.put(state, buf);
    for kv in &span.attributes {
        put_kv(ATTRIBUTES, kv.key.as_str(), &kv.value, buf);
    }
    put_varint(
        DROPPED_ATTRIBUTES,
        u64::from(span.dropped_attributes_count),
        buf,
    );
    for event in span.events.iter() {
        put_nested(EVENTS, 1, buf, |buf| {
            put_fixed64(EVENT_TIME, UnixNanos::of(event.timestamp).0, buf);
            put_bytes(EVENT_NAME, event.name.as_bytes(), buf);
            for kv in &event.attributes {
                put_kv(EVENT_ATTRIBUTES, kv.key.as_str(), &kv.value, buf);
            }
            put_varint(
                EVENT_DROPPED_ATTRIBUTES,
                u64::from(event.dropped_attributes_count),
                buf,
            );
        });
    }
    put_varint(DROPPED_EVENTS, u64::from(span.events.dropped_count), buf);
    for link in span.links.iter() {
        let state = trace_state(link.span_context.trace_state());
        put_nested(LINKS, 1, buf, |buf| {
            put_bytes(LINK_TRACE_ID, &link.span_context.trace_id().to_bytes(), buf);
            put_bytes(LINK_SPAN_ID, &link.span_context.span_id().to_bytes(), buf);
            put_bytes(
                LINK_TRACE_STATE,
                state.as_deref().unwrap_or("").as_bytes(),
                buf,
            );
            for kv in &link.attributes {
                put_kv(LINK_ATTRIBUTES, kv.key.as_str(), &kv.value, buf);
            }
            put_varint(
                LINK_DROPPED_ATTRIBUTES,
                u64::from(link.dropped_attributes_count),
                buf,
            );
            put_fixed32(LINK_FLAGS, link_flags(link), buf);
        });
    }
    put_varint(DROPPED_LINKS, u64::from(span.links.dropped_count), buf);
    put_status(&span.status, buf);
    put_fixed32(FLAGS, head.flags(), buf);
}

/// Encodes batches of spans; keeps its scratch space between batches.
#[derive(Debug, Default)]
pub struct TraceEncoder {
    resource: EncodedResource,
    groups: Vec<(usize, Vec<usize>)>,
    room: Room,
    routes: RouteAttributes,
}

impl TraceEncoder {
    pub fn new(resource: EncodedResource) -> Self {
        TraceEncoder {
            resource,
            ..Default::default()
        }
    }

    /// Appends one `ExportTraceServiceRequest` holding `spans` to `out`.
    pub fn encode(&mut self, spans: &[SpanItem], out: &mut Buf) {
        // The server spans share one scope: the pointer answers before the strings.
        let same = |a: &SpanItem, b: &SpanItem| {
            let (a, b) = (a.scope(), b.scope());
            std::ptr::eq(a, b) || a == b
        };
        group_by_scope(spans, same, &mut self.groups);
        let groups = &self.groups;
        let start = self
            .room
            .reserve(spans.len(), self.resource.body().len(), out);
        let routes = &mut self.routes;
        put_nested(RESOURCE_SPANS, 3, out, |out| {
            put_bytes_always(RESOURCE, self.resource.body(), out);
            for (first, members) in groups.iter() {
                let scope = spans[*first].scope();
                put_nested(SCOPE_SPANS, 3, out, |out| {
                    put_scope(SCOPE, scope.name(), scope, out);
                    for &i in members {
                        spans[i].put(routes, out);
                    }
                    put_bytes(
                        SCOPE_SCHEMA_URL,
                        scope.schema_url().unwrap_or("").as_bytes(),
                        out,
                    );
                });
            }
        });
        self.room.learn(spans.len(), out.len() - start);
    }
}
