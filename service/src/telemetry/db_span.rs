//! Client spans around store calls, children of the request's server span.

use std::sync::OnceLock;

use opentelemetry::trace::{Span, SpanKind, Status, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SdkTracer, Span as SdkSpan};

static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// Installs the tracer database spans use (once per process).
pub fn install(tracer: SdkTracer) {
    let _ = TRACER.set(tracer);
}

pub struct DbSpan(Option<SdkSpan>);

impl DbSpan {
    pub fn start(
        system: &'static str,
        operation: &'static str,
        collection: &'static str,
    ) -> DbSpan {
        let Some(tracer) = TRACER.get() else {
            return DbSpan(None);
        };
        let cx = Context::current();
        let span = tracer
            .span_builder(format!("{operation} {collection}"))
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("db.system.name", system),
                KeyValue::new("db.operation.name", operation),
                KeyValue::new("db.collection.name", collection),
            ])
            .start_with_context(tracer, &cx);
        DbSpan(Some(span))
    }

    pub fn end(self, error: Option<&anyhow::Error>) {
        let Some(mut span) = self.0 else { return };
        if let Some(error) = error {
            span.set_attribute(KeyValue::new("error.type", "db_error"));
            span.set_status(Status::error(error.to_string()));
        }
        span.end();
    }
}
