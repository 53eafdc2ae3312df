//! Collects every request's outcome from all users: per-route latency histograms, checks,
//! a per-second series for the HTML report, and the request ids of failures.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::run::checks::Checked;
use crate::run::metrics::{CheckCount, RouteMetrics, RunMetrics};
use crate::run::mix::Action;

/// Failures printed as they happen (and kept for the summary); the rest are counted.
const FAILURES_KEPT: usize = 20;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Failure {
    pub request_id: String,
    pub route: &'static str,
    pub path: String,
    /// 0 for a transport error.
    pub status: u16,
    pub reason: String,
}

/// One second of the run.
#[derive(Clone, Debug)]
pub struct Second {
    pub requests: u64,
    pub failed: u64,
    pub latency: Histogram<u64>,
}

/// One request as the recorder takes it.
pub struct RequestSample<'a> {
    pub action: Action,
    /// Open model: how late the request was sent after its due time (the generator's
    /// own lateness: timer resolution, busy users), part of `latency_us`.
    pub send_lag_us: Option<u64>,
    pub latency_us: u64,
    /// The server answered (any status).
    pub answered: bool,
    pub checks: &'a Checked,
    pub failure: Option<Failure>,
}

/// Everything recorded, at the end of the run.
pub struct Recorded {
    pub metrics: RunMetrics,
    /// The run second by second.
    pub series: Vec<Second>,
    /// The first failures, as printed.
    pub failures: Vec<Failure>,
    pub failures_total: u64,
}

#[derive(Default)]
struct Inner {
    routes: BTreeMap<&'static str, RouteMetrics>,
    /// Keyed by (route tag, check name): no allocation per request under the lock.
    checks: BTreeMap<(&'static str, &'static str), CheckCount>,
    series: Vec<Second>,
    failures: Vec<Failure>,
    failures_total: u64,
    iterations: u64,
    send_lag: Option<Histogram<u64>>,
}

pub struct Recorder {
    started: Instant,
    inner: Mutex<Inner>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            started: Instant::now(),
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    pub fn record(&self, o: RequestSample<'_>) {
        let failed = o.failure.is_some();
        let second = self.started.elapsed().as_secs() as usize;
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.iterations += 1;
        if let Some(lag) = o.send_lag_us {
            inner
                .send_lag
                .get_or_insert_with(crate::run::metrics::latency_histogram)
                .saturating_record(lag.max(1));
        }
        inner
            .routes
            .entry(o.action.tag())
            .or_default()
            .record(o.latency_us, o.answered, failed);
        for c in &o.checks.results {
            let count = inner.checks.entry((o.action.tag(), c.name)).or_default();
            if c.pass {
                count.passed += 1;
            } else {
                count.failed += 1;
            }
        }
        while inner.series.len() <= second {
            inner.series.push(Second {
                requests: 0,
                failed: 0,
                // Two digits are plenty for a per-second curve and keep this small.
                latency: Histogram::new_with_bounds(1, 60_000_000, 2)
                    .expect("valid histogram bounds"),
            });
        }
        let s = &mut inner.series[second];
        s.requests += 1;
        s.failed += u64::from(failed);
        s.latency.saturating_record(o.latency_us.max(1));
        if let Some(f) = o.failure {
            inner.failures_total += 1;
            if inner.failures.len() < FAILURES_KEPT {
                eprintln!(
                    "\rfailed: {} {} -> {} ({}), x-request-id {}",
                    f.route,
                    f.path,
                    if f.status == 0 {
                        "no response".to_owned()
                    } else {
                        f.status.to_string()
                    },
                    f.reason,
                    f.request_id
                );
                inner.failures.push(f);
            }
        }
    }

    /// (requests, failed, p95 ms of the last full second) for the progress line.
    pub fn progress(&self) -> (u64, u64, Option<f64>) {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (mut requests, mut failed) = (0, 0);
        for r in inner.routes.values() {
            requests += r.requests;
            failed += r.failed;
        }
        let n = inner.series.len();
        let last = inner
            .series
            .get(n.saturating_sub(2))
            .filter(|s| !s.latency.is_empty())
            .map(|s| s.latency.value_at_quantile(0.95) as f64 / 1000.0);
        (requests, failed, last)
    }

    pub fn snapshot(&self) -> Recorded {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut m = RunMetrics {
            elapsed_s: self.started.elapsed().as_secs_f64(),
            iterations: inner.iterations,
            checks: inner
                .checks
                .iter()
                .map(|((route, name), count)| (format!("{route}: {name}"), count.clone()))
                .collect(),
            send_lag_ms: inner.send_lag.as_ref().map(|h| {
                (
                    h.value_at_quantile(0.5) as f64 / 1000.0,
                    h.value_at_quantile(0.99) as f64 / 1000.0,
                )
            }),
            ..Default::default()
        };
        for (route, r) in &inner.routes {
            m.total.add(r);
            m.routes.insert((*route).to_owned(), r.clone());
        }
        Recorded {
            metrics: m,
            series: inner.series.clone(),
            failures: inner.failures.clone(),
            failures_total: inner.failures_total,
        }
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}
