//! Client spans around store calls, children of the request's server span.

use opentelemetry::trace::{Span, SpanKind, Status, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::Span as SdkSpan;

use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::tracer::{self, SpanApi};

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

// Lives on the stack for one store call; boxing the SDK span would allocate per call.
#[allow(clippy::large_enum_variant)]
pub enum DbSpan {
    Off,
    Sdk(SdkSpan),
    /// The stock path: a `tracing` span, ended by tracing-opentelemetry when dropped.
    Tracing(tracing::Span),
}

impl DbSpan {
    pub fn start(system: &'static str, op: DbOp) -> DbSpan {
        // Telemetry off: no attributes built, no context cloned.
        let Some(api) = tracer::get() else {
            return DbSpan::Off;
        };
        let attributes = [
            KeyValue::new("db.system.name", system),
            KeyValue::new("db.operation.name", op.operation),
            KeyValue::new("db.collection.name", op.collection),
        ];
        let cx = Context::current();
        match api {
            SpanApi::Sdk(tracer) => DbSpan::Sdk(
                tracer
                    .span_builder(op.span_name)
                    .with_kind(SpanKind::Client)
                    .with_attributes(attributes)
                    .start_with_context(tracer, &cx),
            ),
            SpanApi::Tracing => {
                let span = tracing::info_span!(
                    target: tracer::SPAN_TARGET,
                    "db",
                    otel.name = op.span_name,
                    otel.kind = "client"
                );
                // The request's context is the OTel one, not tracing's current span.
                let _ = span.set_parent(cx);
                for attribute in attributes {
                    span.set_attribute(attribute.key, attribute.value);
                }
                DbSpan::Tracing(span)
            }
        }
    }

    pub fn end(self, error: Option<&anyhow::Error>) {
        let status = error.map(|error| Status::error(error.to_string()));
        match self {
            DbSpan::Off => {}
            DbSpan::Sdk(mut span) => {
                if let Some(status) = status {
                    span.set_attribute(KeyValue::new("error.type", "db_error"));
                    span.set_status(status);
                }
                span.end();
            }
            DbSpan::Tracing(span) => {
                if let Some(status) = status {
                    span.set_attribute("error.type", "db_error");
                    span.set_status(status);
                }
            }
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
