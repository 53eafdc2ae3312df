//! The lean path's server span: sampled and identified as the SDK's tracer would
//! (the same sampler, `sampling::from_env`, and the same random id generator), kept
//! as plain fields while the request runs and queued as a [`ServerSpanRecord`] when it
//! ends, which `export::spans` encodes field by field, as `export::logs` does the
//! access records. The request's context carries its span context (for the database
//! spans, the `traceparent` header, the log records and the exemplars).
//!
//! Through the SDK's tracer the same span cost about 1,600 more instructions per
//! request on the request thread (a span builder, a boxed recording span behind a
//! mutex in the context, the processor call at its end), and as the SDK's `SpanData`
//! (a vector of `KeyValue`s built, encoded through the generic value path, dropped)
//! about 2,000 more on both threads (docs/performance.md).

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags};
use opentelemetry::{Context, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SamplingDecision, ShouldSample};

use super::export::{Scalar, SpanSink};
use super::metrics::{
    ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE, URL_SCHEME,
};
use super::switches::SwitchedSampler;
use super::unix_nanos::UnixNanos;

/// What the lean path needs to make its own spans: the server spans here, the
/// database spans in `db_span` (one sampler, id generator, scope and queue for both).
pub struct LeanSpans {
    sampler: SwitchedSampler,
    ids: RandomIdGenerator,
    /// The tracer's scope (`provider.tracer(SCOPE_NAME)`).
    scope: Arc<InstrumentationScope>,
    sink: SpanSink,
}

/// A new span's ids and sampling decision, made as the SDK's tracer makes them.
pub(super) struct Begun {
    pub span_context: SpanContext,
    pub parent_span_id: SpanId,
    pub parent_is_remote: bool,
    pub sampled: bool,
    pub sampler_attributes: Vec<KeyValue>,
}

/// The server span's attributes known when the request starts, in the order both
/// paths write them.
#[derive(Debug, Clone)]
pub struct SpanStart {
    pub method: &'static str,
    /// The method as sent when it is not a known one (`method` is then `_OTHER`).
    pub method_original: Option<Box<str>>,
    pub route: StringValue,
    pub path: Arc<str>,
    pub request_id: Arc<str>,
    pub user_id: Option<Arc<str>>,
}

impl SpanStart {
    /// The attributes every request of the route and method shares, first on both
    /// paths: the lean encoder copies them from a block made once per pair.
    pub fn for_each_route_attribute(&self, f: &mut impl FnMut(&str, Attr<'_>)) {
        f(HTTP_REQUEST_METHOD, Attr::Scalar(Scalar::Str(self.method)));
        f(HTTP_ROUTE, Attr::Scalar(Scalar::Str(self.route.as_str())));
        f(URL_SCHEME, Attr::Scalar(Scalar::Str("http")));
    }

    /// The attributes of this request after the route's.
    fn for_each_request_attribute(&self, f: &mut impl FnMut(&str, Attr<'_>)) {
        if let Some(original) = &self.method_original {
            f(
                "http.request.method_original",
                Attr::Scalar(Scalar::Str(original)),
            );
        }
        f("url.path", Attr::Scalar(Scalar::Str(&self.path)));
        f("request_id", Attr::Scalar(Scalar::Str(&self.request_id)));
        if let Some(user) = &self.user_id {
            f("user.id", Attr::Scalar(Scalar::Str(user)));
        }
    }

    /// The same attributes as OTel key-values (the stock path's span).
    pub fn attributes(&self) -> Vec<KeyValue> {
        let mut out = Vec::with_capacity(8);
        out.push(KeyValue::new(HTTP_REQUEST_METHOD, self.method));
        out.push(KeyValue::new(HTTP_ROUTE, Value::String(self.route.clone())));
        out.push(KeyValue::new(URL_SCHEME, "http"));
        if let Some(original) = &self.method_original {
            out.push(KeyValue::new(
                "http.request.method_original",
                original.to_string(),
            ));
        }
        out.push(KeyValue::new(
            "url.path",
            Value::from(Arc::clone(&self.path)),
        ));
        out.push(KeyValue::new(
            "request_id",
            Value::from(Arc::clone(&self.request_id)),
        ));
        if let Some(user) = &self.user_id {
            out.push(KeyValue::new("user.id", Value::from(Arc::clone(user))));
        }
        out
    }
}

/// The attributes learnt by the request's end, written after the others in this
/// order on both paths.
#[derive(Debug, Clone, Default)]
pub struct SpanEnd {
    pub status: Option<u16>,
    pub project_id: Option<i64>,
    pub todo_id: Option<i64>,
    pub error_type: Option<StringValue>,
}

impl SpanEnd {
    fn for_each(&self, f: &mut impl FnMut(&str, Attr<'_>)) {
        if let Some(status) = self.status {
            f(
                HTTP_RESPONSE_STATUS_CODE,
                Attr::Scalar(Scalar::Int(i64::from(status))),
            );
        }
        if let Some(id) = self.project_id {
            f("project.id", Attr::Scalar(Scalar::Int(id)));
        }
        if let Some(id) = self.todo_id {
            f("todo.id", Attr::Scalar(Scalar::Int(id)));
        }
        if let Some(kind) = &self.error_type {
            f(ERROR_TYPE, Attr::Scalar(Scalar::Str(kind.as_str())));
        }
    }

    /// The same attributes as OTel key-values (the stock path's span).
    pub fn attributes(&self) -> impl Iterator<Item = KeyValue> {
        [
            self.status
                .map(|status| KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status))),
            self.project_id.map(|id| KeyValue::new("project.id", id)),
            self.todo_id.map(|id| KeyValue::new("todo.id", id)),
            self.error_type
                .clone()
                .map(|kind| KeyValue::new(ERROR_TYPE, Value::String(kind))),
        ]
        .into_iter()
        .flatten()
    }
}

/// One attribute as a record of known fields hands it to the encoder.
#[derive(Debug, Clone, Copy)]
pub enum Attr<'a> {
    Scalar(Scalar<'a>),
    /// An attribute the sampler added (none of the built-in samplers do).
    Value(&'a Value),
}

/// A sampled server span while its request runs.
pub struct OwnSpan {
    span_context: SpanContext,
    parent_span_id: SpanId,
    parent_is_remote: bool,
    name: &'static str,
    start_time: UnixNanos,
    start: SpanStart,
    sampler_attributes: Vec<KeyValue>,
}

impl OwnSpan {
    /// The span's end, `elapsed` after its start (the access record's time too).
    pub fn ends_at(&self, elapsed: Duration) -> UnixNanos {
        self.start_time.plus(elapsed)
    }
}

/// A finished server span as the lean path queues it.
#[derive(Debug, Clone)]
pub struct ServerSpanRecord {
    pub span_context: SpanContext,
    pub parent_span_id: SpanId,
    pub parent_is_remote: bool,
    pub name: &'static str,
    pub start_time: UnixNanos,
    pub end_time: UnixNanos,
    pub error: bool,
    pub start: SpanStart,
    pub sampler_attributes: Vec<KeyValue>,
    pub end: SpanEnd,
    pub scope: Arc<InstrumentationScope>,
}

impl ServerSpanRecord {
    /// The attributes in order: the route's, the request's, the sampler's, those
    /// learnt at the end.
    pub fn for_each_attribute(&self, mut f: impl FnMut(&str, Attr<'_>)) {
        self.start.for_each_route_attribute(&mut f);
        self.for_each_request_attribute(f);
    }

    /// The attributes after the route's ([`SpanStart::for_each_route_attribute`]).
    pub fn for_each_request_attribute(&self, mut f: impl FnMut(&str, Attr<'_>)) {
        self.start.for_each_request_attribute(&mut f);
        for kv in &self.sampler_attributes {
            f(kv.key.as_str(), Attr::Value(&kv.value));
        }
        self.end.for_each(&mut f);
    }

    /// The same span as the SDK's `SpanData` (the differential tests encode both).
    pub fn to_span_data(&self) -> opentelemetry_sdk::trace::SpanData {
        use opentelemetry::trace::Status;
        let mut attributes = self.start.attributes();
        attributes.extend(self.sampler_attributes.iter().cloned());
        attributes.extend(self.end.attributes());
        opentelemetry_sdk::trace::SpanData {
            span_context: self.span_context.clone(),
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_is_remote,
            span_kind: SpanKind::Server,
            name: self.name.into(),
            start_time: self.start_time.to_system_time(),
            end_time: self.end_time.to_system_time(),
            attributes,
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: if self.error {
                Status::error("")
            } else {
                Status::Unset
            },
            instrumentation_scope: (*self.scope).clone(),
        }
    }
}
impl LeanSpans {
    pub fn new(sampler: SwitchedSampler, scope_name: &'static str, sink: SpanSink) -> Self {
        LeanSpans {
            sampler,
            ids: RandomIdGenerator::default(),
            scope: Arc::new(InstrumentationScope::builder(scope_name).build()),
            sink,
        }
    }

    /// The ids and sampling decision of a new span under `parent` (the SDK
    /// tracer's rules: the parent's trace id if it has a valid span, a new one
    /// otherwise; the sampler asked with the parent's context).
    ///
    /// The sampler sees no attributes: the samplers `OTEL_TRACES_SAMPLER` can name
    /// decide by trace id and parent only, and building them would cost a vector
    /// of key-values per span.
    pub(super) fn begin(&self, parent: &Context, name: &str, kind: &SpanKind) -> Begun {
        let parent_span = parent.span();
        let parent_context = parent_span.span_context();
        let has_parent = parent.has_active_span() && parent_context.is_valid();
        let trace_id = if has_parent {
            parent_context.trace_id()
        } else {
            self.ids.new_trace_id()
        };
        let result = self
            .sampler
            .should_sample(Some(parent), trace_id, name, kind, &[], &[]);
        let sampled = result.decision == SamplingDecision::RecordAndSample;
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        Begun {
            span_context: SpanContext::new(
                trace_id,
                self.ids.new_span_id(),
                flags,
                false,
                result.trace_state,
            ),
            parent_span_id: if has_parent {
                parent_context.span_id()
            } else {
                SpanId::INVALID
            },
            parent_is_remote: has_parent && parent_context.is_remote(),
            sampled,
            sampler_attributes: result.attributes,
        }
    }

    pub(super) fn scope(&self) -> &Arc<InstrumentationScope> {
        &self.scope
    }

    pub(super) fn sink(&self) -> &SpanSink {
        &self.sink
    }

    /// Starts a server span under `parent` (the extracted remote context, or an
    /// empty one). Returns the request's context with the span in it, and the span
    /// to end if it is sampled (an unsampled span has a context but no record, as
    /// in the SDK, so its children follow the decision).
    pub fn start(
        &self,
        parent: &Context,
        name: &'static str,
        start: SpanStart,
    ) -> (Context, Option<OwnSpan>) {
        let begun = self.begin(parent, name, &SpanKind::Server);
        let own = begun.sampled.then(|| OwnSpan {
            span_context: begun.span_context.clone(),
            parent_span_id: begun.parent_span_id,
            parent_is_remote: begun.parent_is_remote,
            name,
            start_time: UnixNanos::now(),
            start,
            sampler_attributes: begun.sampler_attributes,
        });
        (parent.with_remote_span_context(begun.span_context), own)
    }

    /// Ends the span `elapsed` after its start and queues it for export.
    pub fn end(&self, span: OwnSpan, elapsed: Duration, end: SpanEnd) {
        let end_time = span.ends_at(elapsed);
        self.sink.push_server(ServerSpanRecord {
            span_context: span.span_context,
            parent_span_id: span.parent_span_id,
            parent_is_remote: span.parent_is_remote,
            name: span.name,
            start_time: span.start_time,
            end_time,
            error: end.error_type.is_some(),
            start: span.start,
            sampler_attributes: span.sampler_attributes,
            end,
            scope: Arc::clone(&self.scope),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::propagation::extract_parent;
    use axum::http::{HeaderMap, HeaderValue};
    use opentelemetry::trace::TraceId;
    use opentelemetry_sdk::trace::Sampler;

    fn trace_id(cx: &Context) -> TraceId {
        cx.span().span_context().trace_id()
    }

    fn test_start() -> SpanStart {
        SpanStart {
            method: "GET",
            method_original: None,
            route: StringValue::from("/health"),
            path: Arc::from("/health"),
            request_id: Arc::from("r-1"),
            user_id: None,
        }
    }

    fn spans(sampler: Sampler) -> LeanSpans {
        let sampler = SwitchedSampler::new(sampler, std::sync::Arc::default());
        LeanSpans::new(sampler, "test", SpanSink::detached())
    }

    #[test]
    fn a_root_span_gets_new_ids_and_is_sampled_by_default() {
        let s = spans(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
        let (cx, own) = s.start(&Context::new(), "GET /health", test_start());
        let own = own.expect("sampled");
        assert!(cx.span().span_context().is_sampled());
        assert_ne!(trace_id(&cx), TraceId::INVALID);
        assert_eq!(own.parent_span_id, SpanId::INVALID);
        assert!(!own.parent_is_remote);
    }

    #[test]
    fn a_remote_parent_gives_its_trace_id_and_its_decision() {
        let s = spans(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        let (cx, own) = s.start(&extract_parent(&headers), "GET /health", test_start());
        let own = own.expect("sampled like its parent");
        assert_eq!(
            format!("{:032x}", trace_id(&cx)),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(format!("{:016x}", own.parent_span_id), "00f067aa0ba902b7");
        assert!(own.parent_is_remote);

        headers.insert(
            "traceparent",
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"),
        );
        let (cx, own) = s.start(&extract_parent(&headers), "GET /health", test_start());
        assert!(own.is_none(), "an unsampled parent: no record");
        assert!(!cx.span().span_context().is_sampled());
        assert!(
            cx.span().span_context().is_valid(),
            "children still get ids"
        );
    }

    #[test]
    fn a_child_takes_the_trace_and_the_decision_of_the_span_in_its_context() {
        let s = spans(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
        let (cx, own) = s.start(&Context::new(), "POST /projects", test_start());
        let server = own.expect("sampled").span_context;
        let child = s.begin(&cx, "INSERT projects", &SpanKind::Client);
        assert!(child.sampled);
        assert_eq!(child.span_context.trace_id(), server.trace_id());
        assert_eq!(child.parent_span_id, server.span_id());
        assert_ne!(child.span_context.span_id(), server.span_id());
        assert!(!child.parent_is_remote, "the server span is local");

        let s = spans(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
        let (cx, _) = s.start(&Context::new(), "POST /projects", test_start());
        let child = s.begin(&cx, "INSERT projects", &SpanKind::Client);
        assert!(
            !child.sampled,
            "an unsampled request's calls are not recorded"
        );
        assert_eq!(child.span_context.trace_id(), trace_id(&cx));

        let orphan = s.begin(&Context::new(), "SELECT todos", &SpanKind::Client);
        assert_eq!(
            orphan.parent_span_id,
            SpanId::INVALID,
            "outside a request: a root"
        );
    }

    #[test]
    fn always_off_records_nothing() {
        let s = spans(Sampler::AlwaysOff);
        let (cx, own) = s.start(&Context::new(), "GET /health", test_start());
        assert!(own.is_none());
        assert!(!cx.span().span_context().is_sampled());
    }
}
