//! Cheap counters: one relaxed atomic add per request and per signal, so counting never
//! becomes the bottleneck of a benchmark that shares a core with the receiver.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of what the sink has received so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub spans: u64,
    pub log_records: u64,
    pub metric_data_points: u64,
    pub trace_requests: u64,
    pub log_requests: u64,
    pub metric_requests: u64,
}

impl Counts {
    /// Field-wise difference, saturating at zero: used to attribute records to one run.
    pub fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            spans: self.spans.saturating_sub(earlier.spans),
            log_records: self.log_records.saturating_sub(earlier.log_records),
            metric_data_points: self
                .metric_data_points
                .saturating_sub(earlier.metric_data_points),
            trace_requests: self.trace_requests.saturating_sub(earlier.trace_requests),
            log_requests: self.log_requests.saturating_sub(earlier.log_requests),
            metric_requests: self.metric_requests.saturating_sub(earlier.metric_requests),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    spans: AtomicU64,
    log_records: AtomicU64,
    metric_data_points: AtomicU64,
    trace_requests: AtomicU64,
    log_requests: AtomicU64,
    metric_requests: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> Counts {
        Counts {
            spans: self.spans.load(Ordering::Relaxed),
            log_records: self.log_records.load(Ordering::Relaxed),
            metric_data_points: self.metric_data_points.load(Ordering::Relaxed),
            trace_requests: self.trace_requests.load(Ordering::Relaxed),
            log_requests: self.log_requests.load(Ordering::Relaxed),
            metric_requests: self.metric_requests.load(Ordering::Relaxed),
        }
    }

    /// One trace export request carrying `spans` spans.
    pub(crate) fn add_traces(&self, spans: u64) {
        self.spans.fetch_add(spans, Ordering::Relaxed);
        self.trace_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_logs(&self, records: u64) {
        self.log_records.fetch_add(records, Ordering::Relaxed);
        self.log_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_metrics(&self, points: u64) {
        self.metric_data_points.fetch_add(points, Ordering::Relaxed);
        self.metric_requests.fetch_add(1, Ordering::Relaxed);
    }
}

pub use otlp_counts::{data_point_count, log_record_count, span_count};
