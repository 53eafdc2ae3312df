//! Export health per signal: the pipeline health indicator behind
//! `GET /health/telemetry` (the spec's "partial pipeline failure" case).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;

/// Counters of one signal's export path; updated without locks on the hot path.
#[derive(Debug, Default)]
pub struct SignalStats {
    /// Records accepted into the export queue.
    pub queued: AtomicU64,
    /// Records the receiver acknowledged.
    pub exported: AtomicU64,
    /// Records lost: queue full, retries exhausted, or rejected by the receiver.
    pub dropped: AtomicU64,
    /// Export requests that failed (each may be retried).
    pub failed_exports: AtomicU64,
    /// Records held for a retry after a failed export.
    pub retrying: AtomicU64,
    last_success_ms: AtomicU64,
    last_failure_ms: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// The latest export attempt failed. Kept apart from the timestamps, whose
    /// millisecond cannot order a success and a failure that share it.
    failing: AtomicBool,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl SignalStats {
    pub fn record_success(&self, records: u64) {
        self.exported.fetch_add(records, Relaxed);
        self.last_success_ms.store(now_ms(), Relaxed);
        self.failing.store(false, Relaxed);
    }

    pub fn record_failure(&self, error: String) {
        self.failed_exports.fetch_add(1, Relaxed);
        self.last_failure_ms.store(now_ms(), Relaxed);
        *self.last_error.lock() = Some(error);
        self.failing.store(true, Relaxed);
    }

    pub fn record_dropped(&self, records: u64) {
        self.dropped.fetch_add(records, Relaxed);
    }

    /// Records not yet exported: `queued` (still in the queue) plus those held for retry.
    pub fn pending(&self, queued: u64) -> u64 {
        queued + self.retrying.load(Relaxed)
    }

    pub fn snapshot(&self, pending: u64) -> SignalReport {
        let ms = |v: u64| (v != 0).then_some(v);
        let last_success = ms(self.last_success_ms.load(Relaxed));
        let last_failure = ms(self.last_failure_ms.load(Relaxed));
        SignalReport {
            // Healthy while the last attempt succeeded (or nothing failed yet).
            healthy: !self.failing.load(Relaxed),
            queued: self.queued.load(Relaxed),
            exported: self.exported.load(Relaxed),
            pending: self.pending(pending),
            dropped: self.dropped.load(Relaxed),
            failed_exports: self.failed_exports.load(Relaxed),
            last_success_unix_ms: last_success,
            last_failure_unix_ms: last_failure,
            last_error: self.last_error.lock().clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignalReport {
    pub healthy: bool,
    pub queued: u64,
    pub exported: u64,
    /// Records waiting in the queue or for a retry.
    pub pending: u64,
    pub dropped: u64,
    pub failed_exports: u64,
    pub last_success_unix_ms: Option<u64>,
    pub last_failure_unix_ms: Option<u64>,
    pub last_error: Option<String>,
}

/// Stats of all three signals.
pub type TelemetryHealth = crate::telemetry::export::PerSignal<SignalStats>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_after_a_success_is_unhealthy_until_the_next_success() {
        let stats = SignalStats::default();
        assert!(stats.snapshot(0).healthy);
        stats.record_success(3);
        std::thread::sleep(std::time::Duration::from_millis(2));
        stats.record_failure("connection refused".into());
        let report = stats.snapshot(5);
        assert!(!report.healthy);
        assert_eq!(report.exported, 3);
        assert_eq!(report.failed_exports, 1);
        assert_eq!(report.last_error.as_deref(), Some("connection refused"));
        std::thread::sleep(std::time::Duration::from_millis(2));
        stats.record_success(5);
        assert!(stats.snapshot(0).healthy);
    }

    #[test]
    fn a_failure_in_the_same_millisecond_as_the_success_before_it_is_unhealthy() {
        let stats = SignalStats::default();
        stats.record_success(1);
        stats.record_failure("the export thread ended".into());
        let report = stats.snapshot(0);
        assert!(!report.healthy);
        assert_eq!(
            report.last_error.as_deref(),
            Some("the export thread ended")
        );
    }
}
