//! What a run measured, as thresholds, the summary and the reports read it. Latencies are
//! kept in HDR histograms in microseconds (1 µs to 60 s, 3 significant digits).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

pub fn latency_histogram() -> Histogram<u64> {
    // Bounds and precision are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

#[derive(Clone, Debug)]
pub struct RouteMetrics {
    /// Requests that got a response or failed in transport.
    pub requests: u64,
    /// Requests that failed: transport error, unexpected status or a failed check.
    pub failed: u64,
    /// Requests the server answered (any status): what the service should have counted.
    pub answered: u64,
    /// Latency in µs of every request (failed ones included, as k6 does).
    pub latency: Histogram<u64>,
}

impl Default for RouteMetrics {
    fn default() -> Self {
        RouteMetrics {
            requests: 0,
            failed: 0,
            answered: 0,
            latency: latency_histogram(),
        }
    }
}

impl RouteMetrics {
    pub fn record(&mut self, latency_us: u64, answered: bool, failed: bool) {
        self.requests += 1;
        self.answered += u64::from(answered);
        self.failed += u64::from(failed);
        self.latency.saturating_record(latency_us.max(1));
    }

    /// Milliseconds at quantile q (0..=1), None without samples.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        (!self.latency.is_empty()).then(|| self.latency.value_at_quantile(q) as f64 / 1000.0)
    }

    pub fn add(&mut self, other: &RouteMetrics) {
        self.requests += other.requests;
        self.failed += other.failed;
        self.answered += other.answered;
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }
}

#[derive(Clone, Debug, Default)]
pub struct CheckCount {
    pub passed: u64,
    pub failed: u64,
}

#[derive(Clone, Debug, Default)]
pub struct RunMetrics {
    /// By route tag, e.g. "GET /projects/{id}".
    pub routes: BTreeMap<String, RouteMetrics>,
    pub total: RouteMetrics,
    /// By check name, e.g. "POST /projects: status is 201".
    pub checks: BTreeMap<String, CheckCount>,
    pub iterations: u64,
    /// Arrival-rate executors: iterations that were due but never started (the run
    /// ended first), as k6's dropped_iterations.
    pub dropped_iterations: u64,
    /// Arrival-rate executors: iterations that started after their due time because
    /// every user was busy (their wait is part of their latency).
    pub late_iterations: u64,
    /// Routes whose request count differs from the service's own count; None when
    /// fidelity was not checked.
    pub fidelity_mismatches: Option<u64>,
    /// Open model: (p50, p99) in ms of how late requests were sent after their due time.
    pub send_lag_ms: Option<(f64, f64)>,
    pub elapsed_s: f64,
}

impl RunMetrics {
    pub fn checks_total(&self) -> CheckCount {
        self.checks
            .values()
            .fold(CheckCount::default(), |acc, c| CheckCount {
                passed: acc.passed + c.passed,
                failed: acc.failed + c.failed,
            })
    }
}
