//! The one way to reach the service's tracer: installed once by `Telemetry::init`,
//! read by the server spans (`http`) and the database spans (`db_span`), which run
//! deep in the store where no handle reaches. Unset (telemetry off): no spans.

use std::sync::OnceLock;

use opentelemetry_sdk::trace::SdkTracer;

static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// Sets the tracer; a second call (a second `Telemetry::init` in one process, as in
/// tests) keeps the first.
pub fn install(tracer: SdkTracer) {
    let _ = TRACER.set(tracer);
}

pub fn get() -> Option<&'static SdkTracer> {
    TRACER.get()
}
