//! Optional storage of whole requests for contract tests. Benchmarks run with capture off,
//! so the hot path then pays nothing but a branch.

use std::sync::Mutex;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

#[derive(Debug, Default)]
pub(crate) struct Capture {
    enabled: bool,
    traces: Mutex<Vec<ExportTraceServiceRequest>>,
    logs: Mutex<Vec<ExportLogsServiceRequest>>,
    metrics: Mutex<Vec<ExportMetricsServiceRequest>>,
}

/// A poisoned lock only means a panicking test thread held it; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Capture {
    pub(crate) fn new(enabled: bool) -> Self {
        Capture {
            enabled,
            ..Default::default()
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    pub(crate) fn traces(&self, req: ExportTraceServiceRequest) {
        if self.enabled {
            lock(&self.traces).push(req);
        }
    }

    pub(crate) fn logs(&self, req: ExportLogsServiceRequest) {
        if self.enabled {
            lock(&self.logs).push(req);
        }
    }

    pub(crate) fn metrics(&self, req: ExportMetricsServiceRequest) {
        if self.enabled {
            lock(&self.metrics).push(req);
        }
    }

    pub(crate) fn all_traces(&self) -> Vec<ExportTraceServiceRequest> {
        lock(&self.traces).clone()
    }

    pub(crate) fn all_logs(&self) -> Vec<ExportLogsServiceRequest> {
        lock(&self.logs).clone()
    }

    pub(crate) fn all_metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        lock(&self.metrics).clone()
    }
}
