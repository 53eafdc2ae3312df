//! The lean OTLP export path. The SDK's own batch processors wake their
//! thread for every record and the stock exporter converts every record into
//! owned protobuf structs before encoding; here records are queued without a
//! wake-up (`queue`), encoded straight into bytes (`spans`, `logs`) and sent
//! by one export thread (`pipeline`) over gRPC or HTTP (`transport`), with
//! retries for a collector restart and counters for `/health/telemetry`.

mod logs;
mod metrics;
mod pipeline;
mod processors;
mod proto;
mod queue;
mod resource;
mod spans;
mod transport;
mod values;

pub use logs::{LogEncoder, LogItem};
pub use metrics::QueueMetricExporter;
pub use pipeline::Pipeline;
pub use processors::{QueueLogProcessor, QueueSpanProcessor};
pub use resource::EncodedResource;
pub use spans::TraceEncoder;

/// The three OTLP signals; the discriminant indexes per-signal arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces = 0,
    Logs = 1,
    Metrics = 2,
}

impl Signal {
    pub fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "v1/traces",
            Signal::Logs => "v1/logs",
            Signal::Metrics => "v1/metrics",
        }
    }
}
