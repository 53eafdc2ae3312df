//! The lean path's server span: sampled and identified as the SDK's tracer would
//! (the same sampler, `sampling::from_env`, and the same random id generator), kept
//! as plain fields while the request runs, and handed to the export queue as the
//! SDK's own `SpanData` when it ends, so the encoder and every test of it apply
//! unchanged. The request's context carries its span context (for the database
//! spans, the `traceparent` header, the log records and the exemplars).
//!
//! Through the SDK's tracer the same span cost about 1,600 more instructions per
//! request on the request thread: a span builder, a boxed recording span behind a
//! mutex in the context, and the processor call at its end (docs/performance.md).

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, SamplingDecision, ShouldSample, SpanData, SpanEvents, SpanLinks,
};

use super::export::SpanSink;
use super::switches::SwitchedSampler;

/// What the lean path needs to make server spans.
pub struct ServerSpans {
    sampler: SwitchedSampler,
    ids: RandomIdGenerator,
    /// The tracer's scope (`provider.tracer(SCOPE_NAME)`), shared with the database spans.
    scope: InstrumentationScope,
    sink: SpanSink,
}

/// A sampled server span while its request runs.
pub struct OwnSpan {
    span_context: SpanContext,
    parent_span_id: SpanId,
    parent_is_remote: bool,
    name: &'static str,
    start: SystemTime,
    attributes: Vec<KeyValue>,
}

impl OwnSpan {
    /// Attributes learnt later (the status code, the ids the handler found, the
    /// error), after the start attributes, in the order they are set.
    pub fn set_attribute(&mut self, attribute: KeyValue) {
        self.attributes.push(attribute);
    }
}

impl ServerSpans {
    pub fn new(sampler: SwitchedSampler, scope_name: &'static str, sink: SpanSink) -> Self {
        ServerSpans {
            sampler,
            ids: RandomIdGenerator::default(),
            scope: InstrumentationScope::builder(scope_name).build(),
            sink,
        }
    }

    /// Starts a server span under `parent` (the extracted remote context, or an
    /// empty one). Returns the request's context with the span in it, and the span
    /// to end if it is sampled (an unsampled span has a context but no record, as
    /// in the SDK, so its children follow the decision).
    pub fn start(
        &self,
        parent: &Context,
        name: &'static str,
        attributes: Vec<KeyValue>,
    ) -> (Context, Option<OwnSpan>) {
        let parent_span = parent.span();
        let parent_context = parent_span.span_context();
        let has_parent = parent.has_active_span() && parent_context.is_valid();
        let trace_id = if has_parent {
            parent_context.trace_id()
        } else {
            self.ids.new_trace_id()
        };
        let result = self.sampler.should_sample(
            Some(parent),
            trace_id,
            name,
            &SpanKind::Server,
            &attributes,
            &[],
        );
        let sampled = result.decision == SamplingDecision::RecordAndSample;
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let span_context = SpanContext::new(
            trace_id,
            self.ids.new_span_id(),
            flags,
            false,
            result.trace_state,
        );
        let own = sampled.then(|| {
            let mut attributes = attributes;
            attributes.extend(result.attributes);
            OwnSpan {
                span_context: span_context.clone(),
                parent_span_id: if has_parent {
                    parent_context.span_id()
                } else {
                    SpanId::INVALID
                },
                parent_is_remote: has_parent && parent_context.is_remote(),
                name,
                start: SystemTime::now(),
                attributes,
            }
        });
        (parent.with_remote_span_context(span_context), own)
    }

    /// Ends the span `elapsed` after its start and queues it for export.
    pub fn end(&self, span: OwnSpan, elapsed: Duration, error: bool) {
        let data = SpanData {
            span_context: span.span_context,
            parent_span_id: span.parent_span_id,
            parent_span_is_remote: span.parent_is_remote,
            span_kind: SpanKind::Server,
            name: Cow::Borrowed(span.name),
            start_time: span.start,
            end_time: span.start + elapsed,
            attributes: span.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: if error {
                Status::error("")
            } else {
                Status::Unset
            },
            instrumentation_scope: self.scope.clone(),
        };
        self.sink.push(data);
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

    fn spans(sampler: Sampler) -> ServerSpans {
        let sampler = SwitchedSampler::new(sampler, std::sync::Arc::default());
        ServerSpans::new(sampler, "test", SpanSink::detached())
    }

    #[test]
    fn a_root_span_gets_new_ids_and_is_sampled_by_default() {
        let s = spans(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
        let (cx, own) = s.start(&Context::new(), "GET /health", vec![]);
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
        let (cx, own) = s.start(&extract_parent(&headers), "GET /health", vec![]);
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
        let (cx, own) = s.start(&extract_parent(&headers), "GET /health", vec![]);
        assert!(own.is_none(), "an unsampled parent: no record");
        assert!(!cx.span().span_context().is_sampled());
        assert!(
            cx.span().span_context().is_valid(),
            "children still get ids"
        );
    }

    #[test]
    fn always_off_records_nothing() {
        let s = spans(Sampler::AlwaysOff);
        let (cx, own) = s.start(&Context::new(), "GET /health", vec![]);
        assert!(own.is_none());
        assert!(!cx.span().span_context().is_sampled());
    }
}
