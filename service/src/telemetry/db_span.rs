//! Client spans around store calls, children of the request's server span.

use opentelemetry::trace::{Span, SpanKind, Status, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::Span as SdkSpan;

use super::tracer;

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

pub struct DbSpan(Option<SdkSpan>);

impl DbSpan {
    pub fn start(system: &'static str, op: DbOp) -> DbSpan {
        let Some(tracer) = tracer::get() else {
            return DbSpan(None);
        };
        let cx = Context::current();
        let span = tracer
            .span_builder(op.span_name)
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("db.system.name", system),
                KeyValue::new("db.operation.name", op.operation),
                KeyValue::new("db.collection.name", op.collection),
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

#[cfg(test)]
mod tests {
    #[test]
    fn span_names_follow_the_db_conventions() {
        let op = crate::db_op!("INSERT", "projects");
        assert_eq!(op.span_name, "INSERT projects");
        assert_eq!((op.operation, op.collection), ("INSERT", "projects"));
    }
}
