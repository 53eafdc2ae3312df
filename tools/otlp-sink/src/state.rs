//! What both transports share: count every request, then keep it if capture is on.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::capture::Capture;
use crate::counts::{data_point_count, log_record_count, span_count, Counters};

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) counters: Counters,
    pub(crate) capture: Capture,
}

impl State {
    pub(crate) fn new(capture: bool) -> Self {
        State {
            counters: Counters::default(),
            capture: Capture::new(capture),
        }
    }

    /// With capture off the servers use count-only decoding (see lean.rs).
    pub(crate) fn capturing(&self) -> bool {
        self.capture.enabled()
    }

    pub(crate) fn traces(&self, req: ExportTraceServiceRequest) {
        self.counters.add_traces(span_count(&req));
        self.capture.traces(req);
    }

    pub(crate) fn logs(&self, req: ExportLogsServiceRequest) {
        self.counters.add_logs(log_record_count(&req));
        self.capture.logs(req);
    }

    pub(crate) fn metrics(&self, req: ExportMetricsServiceRequest) {
        self.counters.add_metrics(data_point_count(&req));
        self.capture.metrics(req);
    }
}
