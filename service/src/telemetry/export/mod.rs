//! The lean OTLP export path. The SDK's own batch processors wake their
//! thread for every record and the stock exporter converts every record into
//! owned protobuf structs before encoding; here records are queued without a
//! wake-up (`queue`), encoded straight into bytes (`spans`, `logs`) and sent
//! by one export thread (`pipeline`) over gRPC or HTTP (`transport`), with
//! retries for a collector restart and counters for `/health/telemetry`.

mod logs;
mod metrics;
mod payload;
mod pipeline;
mod processors;
mod proto;
mod queue;
mod resource;
mod route_attributes;
mod self_metrics;
mod shared;
mod spans;
mod transport;
mod values;

#[cfg(test)]
mod differential_tests;
#[cfg(test)]
mod transport_cost;

pub use logs::{LogEncoder, LogItem};
pub use metrics::QueueMetricExporter;
pub use pipeline::Pipeline;
pub use processors::{LogSink, QueueLogProcessor, QueueSpanProcessor, SpanSink};
pub use resource::EncodedResource;
pub use spans::{SpanItem, TraceEncoder};
pub use values::Scalar;

/// The three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Logs,
    Metrics,
}

/// One value per signal, by name.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PerSignal<T> {
    pub traces: T,
    pub logs: T,
    pub metrics: T,
}

impl<T> PerSignal<T> {
    pub fn try_from_fn<E>(mut f: impl FnMut(Signal) -> Result<T, E>) -> Result<Self, E> {
        Ok(PerSignal {
            traces: f(Signal::Traces)?,
            logs: f(Signal::Logs)?,
            metrics: f(Signal::Metrics)?,
        })
    }

    pub fn get(&self, signal: Signal) -> &T {
        match signal {
            Signal::Traces => &self.traces,
            Signal::Logs => &self.logs,
            Signal::Metrics => &self.metrics,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        [&self.traces, &self.logs, &self.metrics].into_iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        [&mut self.traces, &mut self.logs, &mut self.metrics].into_iter()
    }
}

impl Signal {
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Logs, Signal::Metrics];

    /// The name in metrics and reports.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Logs => "logs",
            Signal::Metrics => "metrics",
        }
    }

    pub fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "v1/traces",
            Signal::Logs => "v1/logs",
            Signal::Metrics => "v1/metrics",
        }
    }
}
