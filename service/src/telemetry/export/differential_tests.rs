//! Differential tests: what the lean encoders write, decoded with opentelemetry-proto,
//! must equal what opentelemetry-proto's own transform (the stock exporter's path)
//! makes of the same SDK records: spans with events and links, logs with every body
//! and attribute value type, resources and scopes. The two deliberate differences
//! (an unset status left out; a log record's missing timestamp filled from its
//! observed time) are normalised and named where they are made.

use std::sync::Arc;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, Context, InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogProcessor, SdkLogRecord, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;
use parking_lot::Mutex;
use prost::Message;

use super::{EncodedResource, LogEncoder, LogItem, SpanItem, TraceEncoder};
use crate::telemetry::db_span::DbSpanRecord;
use crate::telemetry::event_record::EventRecord;
use crate::telemetry::request_context::{self, RequestFacts};
use crate::telemetry::request_id::RequestId;
use crate::telemetry::server_span::{ServerSpanRecord, SpanEnd, SpanStart};
use crate::telemetry::unix_nanos::UnixNanos;

/// Keeps what the SDK hands its processors.
#[derive(Debug, Clone)]
struct Collect<T>(Arc<Mutex<Vec<T>>>);

impl<T> Default for Collect<T> {
    fn default() -> Self {
        Collect(Arc::default())
    }
}

impl SpanProcessor for Collect<SpanData> {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}
    fn on_end(&self, span: SpanData) {
        self.0.lock().push(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

impl LogProcessor for Collect<LogItem> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        self.0.lock().push(LogItem::Sdk {
            record: Box::new(record.clone()),
            scope: scope.clone(),
        });
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("differential")
        .with_attributes([
            KeyValue::new("service.instance.id", "i-1"),
            KeyValue::new("host.cpus", 2_i64),
            KeyValue::new("deployment.ratio", 0.5),
            KeyValue::new("feature.on", true),
        ])
        .build()
}

/// Every attribute value type the API has.
fn every_value_type(prefix: &str) -> Vec<KeyValue> {
    let key = |k: &str| Key::from(format!("{prefix}.{k}"));
    vec![
        KeyValue::new(key("string"), "text with ünïcode and \"quotes\""),
        KeyValue::new(key("empty"), ""),
        KeyValue::new(key("i64"), -42_i64),
        KeyValue::new(key("f64"), 3.25),
        KeyValue::new(key("bool"), false),
        KeyValue::new(
            key("strings"),
            Value::Array(Array::String(vec![
                StringValue::from("a"),
                StringValue::from(""),
            ])),
        ),
        KeyValue::new(key("ints"), Value::Array(Array::I64(vec![1, -1, i64::MAX]))),
        KeyValue::new(key("floats"), Value::Array(Array::F64(vec![0.0, -1.5]))),
        KeyValue::new(key("bools"), Value::Array(Array::Bool(vec![true, false]))),
    ]
}

fn scope(name: &'static str) -> InstrumentationScope {
    InstrumentationScope::builder(name)
        .with_version("1.2.3")
        .with_schema_url("https://opentelemetry.io/schemas/1.30.0")
        .with_attributes([KeyValue::new("scope.attr", 7_i64)])
        .build()
}

fn spans() -> Vec<SpanData> {
    let collect = Collect::<SpanData>::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(collect.clone())
        .with_resource(resource())
        .build();
    let tracer = provider.tracer_with_scope(scope("diff.server"));
    let other = provider.tracer_with_scope(InstrumentationScope::builder("diff.db").build());

    let mut server = tracer
        .span_builder("GET /projects/{id}")
        .with_kind(SpanKind::Server)
        .with_attributes(every_value_type("attr"))
        .start(&tracer);
    server.add_event("event with attributes", every_value_type("event"));
    server.add_event("bare event", vec![]);
    let server_cx = Context::current_with_span(server);
    let linked = server_cx.span().span_context().clone();

    let mut child = other
        .span_builder("SELECT projects")
        .with_kind(SpanKind::Client)
        .with_links(vec![Link::new(
            linked,
            vec![KeyValue::new("link.attr", "x")],
            0,
        )])
        .start_with_context(&other, &server_cx);
    child.set_status(Status::Ok);
    child.end();

    for kind in [SpanKind::Internal, SpanKind::Producer, SpanKind::Consumer] {
        let mut span = other
            .span_builder(format!("{kind:?}"))
            .with_kind(kind)
            .start(&other);
        span.set_status(Status::error("it broke"));
        span.end();
    }
    server_cx.span().end();
    let spans = collect.0.lock().clone();
    assert_eq!(spans.len(), 5);
    spans
}

fn logs() -> Vec<LogItem> {
    let collect = Collect::<LogItem>::default();
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(collect.clone())
        .with_resource(resource())
        .build();
    let logger = provider.logger_with_scope(scope("diff.logs"));
    let bodies = [
        AnyValue::String("a message".into()),
        AnyValue::Int(-7),
        AnyValue::Double(2.5),
        AnyValue::Boolean(true),
        AnyValue::Bytes(Box::new(vec![0, 1, 255])),
        AnyValue::ListAny(Box::new(vec![
            AnyValue::Int(1),
            AnyValue::String("two".into()),
        ])),
        AnyValue::Map(Box::new(
            [(
                Key::from("nested"),
                AnyValue::Map(Box::new(
                    [(Key::from("deep"), AnyValue::Boolean(false))]
                        .into_iter()
                        .collect(),
                )),
            )]
            .into_iter()
            .collect(),
        )),
    ];
    let trace = spans()[0].span_context.clone();
    for (i, body) in bodies.into_iter().enumerate() {
        let mut record = logger.create_log_record();
        record.set_body(body);
        record.set_severity_number(Severity::Warn);
        record.set_severity_text("WARN");
        record.set_observed_timestamp(
            std::time::SystemTime::UNIX_EPOCH
                + std::time::Duration::from_nanos(1_700_000_000_123_456_789),
        );
        if i % 2 == 0 {
            record.set_timestamp(
                std::time::SystemTime::UNIX_EPOCH
                    + std::time::Duration::from_nanos(1_700_000_000_000_000_001),
            );
            record.set_event_name("diff.event");
            record.set_trace_context(trace.trace_id(), trace.span_id(), Some(trace.trace_flags()));
        }
        for kv in every_value_type("log") {
            record.add_attribute(kv.key, any_value(kv.value));
        }
        record.add_attribute(
            "log.map",
            AnyValue::Map(Box::new(
                [(Key::from("k"), AnyValue::Int(1))].into_iter().collect(),
            )),
        );
        logger.emit(record);
    }
    let logs = collect.0.lock().clone();
    assert_eq!(logs.len(), 7);
    logs
}

fn any_value(value: Value) -> AnyValue {
    match value {
        Value::Bool(b) => AnyValue::Boolean(b),
        Value::I64(i) => AnyValue::Int(i),
        Value::F64(f) => AnyValue::Double(f),
        Value::String(s) => AnyValue::String(s),
        Value::Array(Array::Bool(v)) => {
            AnyValue::ListAny(Box::new(v.into_iter().map(AnyValue::Boolean).collect()))
        }
        Value::Array(Array::I64(v)) => {
            AnyValue::ListAny(Box::new(v.into_iter().map(AnyValue::Int).collect()))
        }
        Value::Array(Array::F64(v)) => {
            AnyValue::ListAny(Box::new(v.into_iter().map(AnyValue::Double).collect()))
        }
        Value::Array(Array::String(v)) => {
            AnyValue::ListAny(Box::new(v.into_iter().map(AnyValue::String).collect()))
        }
        other => AnyValue::String(other.to_string().into()),
    }
}

/// One group per scope, sorted by scope name: the transform groups through a HashMap,
/// so its group order is arbitrary; the lean encoder keeps first-seen order.
fn merge_scope_groups<S>(
    groups: Vec<S>,
    same_scope: impl Fn(&S, &S) -> bool,
    name: impl Fn(&S) -> String,
    absorb: impl Fn(&mut S, S),
) -> Vec<S> {
    let mut merged: Vec<S> = Vec::new();
    for group in groups {
        match merged.iter_mut().find(|m| same_scope(m, &group)) {
            Some(m) => absorb(m, group),
            None => merged.push(group),
        }
    }
    merged.sort_by_key(|g| name(g));
    merged
}

fn sort_attributes(resource: &mut Option<opentelemetry_proto::tonic::resource::v1::Resource>) {
    if let Some(r) = resource {
        r.attributes.sort_by(|a, b| a.key.cmp(&b.key));
    }
}

/// The spans as the lean encoder sends them and as the stock transform makes them,
/// both in order-free form.
/// The lean path's own records (`SpanItem::Server`, `SpanItem::Db`) meet the stock
/// transform as their `SpanData`.
fn ours_and_stock_spans(items: Vec<SpanItem>) -> (Vec<ResourceSpans>, Vec<ResourceSpans>) {
    let resource = resource();
    let mut body = Vec::new();
    TraceEncoder::new(EncodedResource::new(&resource)).encode(&items, &mut body);
    let spans: Vec<SpanData> = items
        .into_iter()
        .map(|item| match item {
            SpanItem::Sdk(span) => span,
            SpanItem::Server(record) => record.to_span_data(),
            SpanItem::Db(record) => record.to_span_data(),
        })
        .collect();
    let ours = ExportTraceServiceRequest::decode(body.as_slice()).expect("valid OTLP protobuf");
    let stock =
        group_spans_by_resource_and_scope(spans, &ResourceAttributesWithSchema::from(&resource));
    let normalise = |mut all: Vec<ResourceSpans>| {
        for rs in &mut all {
            sort_attributes(&mut rs.resource);
            rs.scope_spans = merge_scope_groups(
                std::mem::take(&mut rs.scope_spans),
                |a, b| a.scope == b.scope && a.schema_url == b.schema_url,
                |g| g.scope.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
                |into, g| into.spans.extend(g.spans),
            );
            // An unset status: the stock transform sends an empty Status message, the
            // lean encoder none; OTLP reads both as unset (2 bytes a span saved).
            for span in rs.scope_spans.iter_mut().flat_map(|ss| &mut ss.spans) {
                if span.status == Some(Default::default()) {
                    span.status = None;
                }
            }
        }
        all
    };
    (normalise(ours.resource_spans), normalise(stock))
}

/// The log records as the lean encoder sends them and as the stock transform makes
/// them, both in order-free form, and how many had no timestamp.
fn ours_and_stock_logs(items: &[LogItem]) -> (Vec<ResourceLogs>, Vec<ResourceLogs>, usize) {
    let resource = resource();
    let mut body = Vec::new();
    LogEncoder::new(EncodedResource::new(&resource)).encode(items, &mut body);
    let ours = ExportLogsServiceRequest::decode(body.as_slice()).expect("valid OTLP protobuf");
    let pairs: Vec<(&SdkLogRecord, &InstrumentationScope)> = items
        .iter()
        .filter_map(|i| match i {
            LogItem::Sdk { record, scope } => Some((&**record, scope)),
            LogItem::Access(_) | LogItem::Event(_) => None,
        })
        .collect();
    let mut stock = group_logs_by_resource_and_scope(
        &LogBatch::new(&pairs),
        &ResourceAttributesWithSchema::from(&resource),
    );
    // The deliberate difference: a record without a timestamp (the tracing bridge sets
    // only the observed time) gets its observed time as time_unix_nano, so the
    // backend's @timestamp is real; the stock path sends 0.
    let mut filled = 0;
    for record in stock
        .iter_mut()
        .flat_map(|r| &mut r.scope_logs)
        .flat_map(|s| &mut s.log_records)
    {
        if record.time_unix_nano == 0 {
            record.time_unix_nano = record.observed_time_unix_nano;
            filled += 1;
        }
    }
    let normalise = |mut all: Vec<ResourceLogs>| {
        for rl in &mut all {
            sort_attributes(&mut rl.resource);
            rl.scope_logs = merge_scope_groups(
                std::mem::take(&mut rl.scope_logs),
                |a, b| a.scope == b.scope && a.schema_url == b.schema_url,
                |g| g.scope.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
                |into, g| into.log_records.extend(g.log_records),
            );
        }
        all
    };
    (normalise(ours.resource_logs), normalise(stock), filled)
}

#[test]
fn spans_encode_exactly_as_the_stock_transform_does() {
    let (ours, stock) = ours_and_stock_spans(spans().into_iter().map(SpanItem::Sdk).collect());
    same(&ours, &stock);
}

/// A server span record with every optional field set or not, by `i`'s bits.
fn server_record(i: u32, scope: &Arc<InstrumentationScope>) -> ServerSpanRecord {
    let bit = |n: u32| i & (1 << n) != 0;
    let parent = bit(0);
    let start_time = UnixNanos(1_700_000_000_123_456_789 + u64::from(i));
    ServerSpanRecord {
        span_context: SpanContext::new(
            TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736 + u128::from(i)),
            SpanId::from(0x00f0_67aa_0ba9_02b7 + u64::from(i)),
            TraceFlags::SAMPLED,
            false,
            if bit(1) {
                TraceState::from_key_value([("vendor", "value")]).expect("a valid trace state")
            } else {
                TraceState::default()
            },
        ),
        parent_span_id: if parent {
            SpanId::from(0x1234 + u64::from(i))
        } else {
            SpanId::INVALID
        },
        parent_is_remote: parent && bit(2),
        name: "POST /projects/{project_id}/todos",
        start_time,
        end_time: start_time.plus(std::time::Duration::from_micros(1_234)),
        error: bit(3),
        start: SpanStart {
            method: if bit(4) { "_OTHER" } else { "POST" },
            method_original: bit(4).then(|| "PURGE".into()),
            route: StringValue::from("/projects/{project_id}/todos"),
            path: Arc::from("/projects/7/todos"),
            request_id: Arc::from(format!("req-{i}").as_str()),
            user_id: bit(5).then(|| Arc::from("u-9f86d081884c7d65")),
        },
        sampler_attributes: if bit(6) {
            every_value_type("sampler")
        } else {
            Vec::new()
        },
        end: SpanEnd {
            status: (!bit(7)).then_some(if bit(3) { 500 } else { 201 }),
            project_id: bit(8).then_some(7),
            todo_id: bit(9).then_some(i64::MAX),
            error_type: bit(3).then(|| StringValue::from("db_error")),
        },
        scope: Arc::clone(scope),
    }
}

#[test]
fn server_span_records_encode_as_their_span_data_does() {
    // The same scope as the SDK's spans of one group, and one of their own: the
    // records group with the SDK spans of the same scope.
    let shared = Arc::new(InstrumentationScope::builder("diff.db").build());
    let own = Arc::new(scope("diff.server"));
    let mut items: Vec<SpanItem> = spans().into_iter().map(SpanItem::Sdk).collect();
    for i in 0..1024 {
        let scope = if i % 2 == 0 { &shared } else { &own };
        items.push(SpanItem::Server(server_record(i, scope)));
    }
    let (ours, stock) = ours_and_stock_spans(items);
    same(&ours, &stock);
}

/// A database span record with every optional field set or not, by `i`'s bits.
fn db_record(i: u32, scope: &Arc<InstrumentationScope>) -> DbSpanRecord {
    let bit = |n: u32| i & (1 << n) != 0;
    let start_time = UnixNanos(1_700_000_000_987_654_321 + u64::from(i));
    DbSpanRecord {
        span_context: SpanContext::new(
            TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736 + u128::from(i)),
            SpanId::from(0x0a0b_0c0d_0e0f_1011 + u64::from(i)),
            TraceFlags::SAMPLED,
            false,
            if bit(1) {
                TraceState::from_key_value([("vendor", "value")]).expect("a valid trace state")
            } else {
                TraceState::default()
            },
        ),
        // A call outside any request has no parent.
        parent_span_id: if bit(0) {
            SpanId::from(0x00f0_67aa_0ba9_02b7 + u64::from(i))
        } else {
            SpanId::INVALID
        },
        parent_is_remote: bit(0) && bit(2),
        system: "sqlite",
        op: if bit(3) {
            crate::db_op!("INSERT", "projects")
        } else {
            crate::db_op!("SELECT", "todos")
        },
        start_time,
        end_time: start_time.plus(std::time::Duration::from_micros(87)),
        sampler_attributes: if bit(4) {
            every_value_type("sampler")
        } else {
            Vec::new()
        },
        error: bit(5).then(|| format!("database is locked ({i})")),
        scope: Arc::clone(scope),
    }
}

#[test]
fn db_span_records_encode_as_their_span_data_does() {
    // Beside the server records and the SDK's spans, sharing scopes with both.
    let shared = Arc::new(InstrumentationScope::builder("diff.db").build());
    let own = Arc::new(scope("diff.server"));
    let mut items: Vec<SpanItem> = spans().into_iter().map(SpanItem::Sdk).collect();
    for i in 0..256 {
        let scope = if i % 2 == 0 { &shared } else { &own };
        items.push(SpanItem::Db(db_record(i, scope)));
        items.push(SpanItem::Server(server_record(i, scope)));
    }
    let (ours, stock) = ours_and_stock_spans(items);
    same(&ours, &stock);
}

#[test]
fn logs_encode_exactly_as_the_stock_transform_does_but_for_a_missing_timestamp() {
    let (ours, stock, filled) = ours_and_stock_logs(&logs());
    assert_eq!(filled, 3, "the records without a timestamp");
    same(&ours, &stock);
}

/// assert_eq, with the first differing lines of the pretty-printed forms in the message.
fn same<T: PartialEq + std::fmt::Debug>(ours: &T, stock: &T) {
    if ours == stock {
        return;
    }
    let (a, b) = (format!("{ours:#?}"), format!("{stock:#?}"));
    let diff: Vec<String> = a
        .lines()
        .zip(b.lines())
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .take(12)
        .map(|(i, (x, y))| format!("line {i}: ours {} | stock {}", x.trim(), y.trim()))
        .collect();
    panic!(
        "the lean encoding differs from the stock transform:\n{}",
        diff.join("\n")
    );
}

/// The same comparison over generated records: any attribute values, span shapes, log
/// bodies (nested lists and maps) and timestamps.
mod generated {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    fn value() -> impl Strategy<Value = Value> {
        // Finite floats: NaN is never equal to itself, so it cannot be compared.
        let float = any::<f64>().prop_filter("finite", |f| f.is_finite());
        prop_oneof![
            any::<String>().prop_map(|s| Value::String(s.into())),
            any::<i64>().prop_map(Value::I64),
            float.clone().prop_map(Value::F64),
            any::<bool>().prop_map(Value::Bool),
            vec(any::<String>(), 0..4)
                .prop_map(|v| Value::Array(Array::String(v.into_iter().map(Into::into).collect()))),
            vec(any::<i64>(), 0..4).prop_map(|v| Value::Array(Array::I64(v))),
            vec(float, 0..4).prop_map(|v| Value::Array(Array::F64(v))),
            vec(any::<bool>(), 0..4).prop_map(|v| Value::Array(Array::Bool(v))),
        ]
    }

    fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
        vec(("[a-z][a-z._]{0,15}", value()), 0..8)
            .prop_map(|kvs| kvs.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect())
    }

    fn any_value() -> impl Strategy<Value = AnyValue> {
        let leaf = prop_oneof![
            any::<String>().prop_map(|s| AnyValue::String(s.into())),
            any::<i64>().prop_map(AnyValue::Int),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(AnyValue::Double),
            any::<bool>().prop_map(AnyValue::Boolean),
            vec(any::<u8>(), 0..8).prop_map(|b| AnyValue::Bytes(Box::new(b))),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(|v| AnyValue::ListAny(Box::new(v))),
                vec(("[a-z]{1,6}", inner), 0..4).prop_map(|kvs| {
                    AnyValue::Map(Box::new(
                        kvs.into_iter().map(|(k, v)| (Key::from(k), v)).collect(),
                    ))
                }),
            ]
        })
    }

    #[derive(Debug, Clone)]
    struct SpanShape {
        name: String,
        kind: u8,
        attributes: Vec<KeyValue>,
        events: Vec<(String, Vec<KeyValue>)>,
        status: Option<Option<String>>,
        child: bool,
    }

    fn span_shape() -> impl Strategy<Value = SpanShape> {
        (
            any::<String>(),
            0u8..5,
            attributes(),
            vec((any::<String>(), attributes()), 0..3),
            proptest::option::of(proptest::option::of(any::<String>())),
            any::<bool>(),
        )
            .prop_map(
                |(name, kind, attributes, events, status, child)| SpanShape {
                    name,
                    kind,
                    attributes,
                    events,
                    status,
                    child,
                },
            )
    }

    fn make_spans(shapes: &[SpanShape]) -> Vec<SpanData> {
        let collect = Collect::<SpanData>::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(collect.clone())
            .with_resource(resource())
            .build();
        let tracer = provider.tracer_with_scope(scope("generated"));
        let root = tracer.start("root");
        let root_cx = Context::current_with_span(root);
        for shape in shapes {
            let kind = [
                SpanKind::Internal,
                SpanKind::Server,
                SpanKind::Client,
                SpanKind::Producer,
                SpanKind::Consumer,
            ][usize::from(shape.kind)]
            .clone();
            let builder = tracer
                .span_builder(shape.name.clone())
                .with_kind(kind)
                .with_attributes(shape.attributes.clone());
            let mut span = if shape.child {
                builder
                    .with_links(vec![Link::new(
                        root_cx.span().span_context().clone(),
                        shape.attributes.clone(),
                        0,
                    )])
                    .start_with_context(&tracer, &root_cx)
            } else {
                builder.start(&tracer)
            };
            for (name, attrs) in &shape.events {
                span.add_event(name.clone(), attrs.clone());
            }
            match &shape.status {
                None => {}
                Some(None) => span.set_status(Status::Ok),
                Some(Some(message)) => span.set_status(Status::error(message.clone())),
            }
            span.end();
        }
        root_cx.span().end();
        let spans = collect.0.lock().clone();
        spans
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn generated_spans_encode_as_the_stock_transform_does(shapes in vec(span_shape(), 1..6)) {
            let (ours, stock) = ours_and_stock_spans(make_spans(&shapes).into_iter().map(SpanItem::Sdk).collect());
            prop_assert_eq!(ours, stock);
        }

        #[test]
        fn generated_logs_encode_as_the_stock_transform_does(
            records in vec((any_value(), vec(("[a-z][a-z._]{0,15}", any_value()), 0..6), any::<bool>(), 1u8..25), 1..6)
        ) {
            let collect = Collect::<LogItem>::default();
            let provider = SdkLoggerProvider::builder()
                .with_log_processor(collect.clone())
                .with_resource(resource())
                .build();
            let logger = provider.logger_with_scope(scope("generated"));
            for (body, attributes, timestamped, severity) in records {
                let mut record = logger.create_log_record();
                record.set_body(body);
                record.set_severity_number(severity_of(severity));
                record.set_observed_timestamp(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000));
                if timestamped {
                    record.set_timestamp(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000));
                }
                for (k, v) in attributes {
                    record.add_attribute(Key::from(k), v);
                }
                logger.emit(record);
            }
            let items = collect.0.lock().clone();
            let (ours, stock, _) = ours_and_stock_logs(&items);
            prop_assert_eq!(ours, stock);
        }
    }

    fn severity_of(n: u8) -> Severity {
        use Severity::*;
        [
            Trace, Trace2, Trace3, Trace4, Debug, Debug2, Debug3, Debug4, Info, Info2, Info3,
            Info4, Warn, Warn2, Warn3, Warn4, Error, Error2, Error3, Error4, Fatal, Fatal2, Fatal3,
            Fatal4,
        ][usize::from(n.clamp(1, 24) - 1)]
    }
}

/// Collects the lean path's record of every event, beside the bridge.
struct CaptureEvents(Arc<Mutex<Vec<EventRecord>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CaptureEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        self.0.lock().push(EventRecord::of(event));
    }
}

#[derive(Debug)]
struct Broken;

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk on fire")
    }
}

impl std::error::Error for Broken {}

/// The same `tracing` events through the stock bridge (opentelemetry-appender-tracing,
/// the SDK's logger, `RequestContextProcessor`) and as the lean path's own records
/// (`EventRecord`): every field type, in and out of a request, the ids a request
/// knows and those an event names itself, two targets (two scopes).
#[test]
fn events_encode_as_the_bridge_makes_them() {
    use tracing_subscriber::layer::SubscriberExt;

    let collect = Collect::<LogItem>::default();
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(crate::telemetry::logs::RequestContextProcessor)
        .with_log_processor(collect.clone())
        .with_resource(resource())
        .build();
    let captured = Arc::new(Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::registry()
        .with(opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&provider))
        .with(CaptureEvents(Arc::clone(&captured)));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(answer = 42, "outside any request");
        let request_id = RequestId::parse(b"diff-request").expect("a valid request id");
        let facts = Arc::new(RequestFacts::new(request_id, Some(Arc::from("u-1"))));
        let _facts = request_context::enter(&facts);
        let trace = spans()[0].span_context.clone();
        let _cx = Context::new().with_remote_span_context(trace).attach();
        tracing::info!(project.id = 7, "project created");
        request_context::record_project(7);
        request_context::record_todo(11);
        let error: &(dyn std::error::Error + 'static) = &Broken;
        tracing::warn!(
            big = u64::MAX,
            small = 5_u64,
            wide = i128::MAX,
            flag = true,
            ratio = 0.25,
            text = "plain text",
            shown = %"display",
            debugged = ?vec![1, 2],
            error,
            "a message with {} arguments", 2
        );
        tracing::error!(target: "alertingscout::other", { todo.id = 3 }, "names its own todo");
        tracing::debug!(raw = ?b"raw", "a debug event");
    });
    let stock: Vec<LogItem> = collect.0.lock().clone();
    let mut ours: Vec<EventRecord> = captured.lock().clone();
    assert_eq!(stock.len(), 5);
    assert_eq!(ours.len(), stock.len());
    // The same instant on both: each record's time is read when it is made.
    for (event, item) in ours.iter_mut().zip(&stock) {
        let LogItem::Sdk { record, .. } = item else {
            unreachable!("the bridge makes SDK records")
        };
        event.time = UnixNanos::of(record.timestamp().expect("the processor sets the time"));
    }
    let resource = EncodedResource::new(&resource());
    let encode = |items: &[LogItem]| {
        let mut body = Vec::new();
        LogEncoder::new(resource.clone()).encode(items, &mut body);
        ExportLogsServiceRequest::decode(body.as_slice()).expect("valid OTLP protobuf")
    };
    let ours: Vec<LogItem> = ours.into_iter().map(LogItem::Event).collect();
    let (ours, stock) = (encode(&ours), encode(&stock));
    let scopes = |r: &ExportLogsServiceRequest| -> Vec<String> {
        r.resource_logs[0]
            .scope_logs
            .iter()
            .map(|s| s.scope.as_ref().map(|s| s.name.clone()).unwrap_or_default())
            .collect()
    };
    assert!(scopes(&stock).contains(&"alertingscout::other".to_string()));
    assert_eq!(ours, stock);
}
