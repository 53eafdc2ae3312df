//! The one way to reach the service's tracer: installed once by `Telemetry::init`,
//! read by the server spans (`http`) and the database spans (`db_span`), which run
//! deep in the store where no handle reaches. Unset (telemetry off): no spans.

use std::sync::{Arc, OnceLock};

use super::server_span::LeanSpans;

/// How spans are made: as the lean path's own records (queued for its exporter
/// without an SDK span), or as `tracing` spans that tracing-opentelemetry turns
/// into SDK spans (the stock path).
pub enum SpanApi {
    Lean(Arc<LeanSpans>),
    Tracing,
}

/// The target of the `tracing` spans that become OTel spans on the stock path; the
/// bridge layer takes only these, so stdout's request span is never doubled.
pub const SPAN_TARGET: &str = "alertingscout::otel";

static TRACER: OnceLock<SpanApi> = OnceLock::new();

/// Sets the span API; a second call (a second `Telemetry::init` in one process, as
/// in tests) keeps the first.
pub fn install(api: SpanApi) {
    let _ = TRACER.set(api);
}

pub fn get() -> Option<&'static SpanApi> {
    TRACER.get()
}
