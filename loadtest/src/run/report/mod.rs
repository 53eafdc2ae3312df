//! The end-of-test report: one serialisable value that the text summary, `--out json`
//! and the HTML report all render.

pub mod html;
pub mod summary;

use serde::Serialize;

use crate::run::executor::GooseCounts;
use crate::run::fidelity;
use crate::run::metrics::RouteMetrics;
use crate::run::recorder::{Failure, Recorded, Second};
use crate::run::threshold::ThresholdVerdict;

#[derive(Clone, Debug, Serialize)]
pub struct RouteRow {
    pub route: String,
    pub requests: u64,
    pub failed: u64,
    pub rate_per_s: f64,
    pub avg_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl RouteRow {
    fn new(route: &str, r: &RouteMetrics, elapsed_s: f64) -> RouteRow {
        let q = |p: f64| r.quantile_ms(p).unwrap_or(0.0);
        RouteRow {
            route: route.to_owned(),
            requests: r.requests,
            failed: r.failed,
            rate_per_s: r.requests as f64 / elapsed_s.max(1e-9),
            avg_ms: r.latency.mean() / 1000.0,
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            max_ms: r.latency.max() as f64 / 1000.0,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckRow {
    pub name: String,
    pub passed: u64,
    pub failed: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SecondRow {
    pub second: usize,
    pub requests: u64,
    pub failed: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub scenario: String,
    pub executor: String,
    pub target: String,
    pub duration_s: f64,
    pub vus: String,
    pub total: RouteRow,
    pub routes: Vec<RouteRow>,
    pub iterations: u64,
    pub dropped_iterations: u64,
    pub late_iterations: u64,
    /// Open model: p50 and p99 (ms) of how late requests left after their due time.
    pub send_lag_ms: Option<(f64, f64)>,
    pub checks: Vec<CheckRow>,
    pub thresholds: Vec<ThresholdVerdict>,
    pub fidelity: Option<fidelity::Report>,
    /// What goose's own request metrics counted (a cross-check of ours).
    pub goose: GooseCounts,
    pub failures: Vec<Failure>,
    pub failures_total: u64,
    pub series: Vec<SecondRow>,
    pub passed: bool,
}

pub struct Header {
    pub scenario: String,
    pub executor: String,
    pub target: String,
    pub vus: String,
}

impl RunReport {
    pub fn build(
        header: Header,
        recorded: Recorded,
        thresholds: Vec<ThresholdVerdict>,
        fidelity: Option<fidelity::Report>,
        goose: GooseCounts,
    ) -> RunReport {
        let Recorded {
            metrics: m,
            series,
            failures,
            failures_total,
        } = recorded;
        let q = |s: &Second, p: f64| {
            if s.latency.is_empty() {
                0.0
            } else {
                s.latency.value_at_quantile(p) as f64 / 1000.0
            }
        };
        RunReport {
            scenario: header.scenario,
            executor: header.executor,
            target: header.target,
            vus: header.vus,
            duration_s: m.elapsed_s,
            total: RouteRow::new("total", &m.total, m.elapsed_s),
            routes: m
                .routes
                .iter()
                .map(|(k, r)| RouteRow::new(k, r, m.elapsed_s))
                .collect(),
            iterations: m.iterations,
            dropped_iterations: m.dropped_iterations,
            late_iterations: m.late_iterations,
            send_lag_ms: m.send_lag_ms,
            checks: m
                .checks
                .iter()
                .map(|(k, c)| CheckRow {
                    name: k.clone(),
                    passed: c.passed,
                    failed: c.failed,
                })
                .collect(),
            passed: thresholds.iter().all(|t| t.pass),
            thresholds,
            fidelity,
            goose,
            failures,
            failures_total,
            series: series
                .iter()
                .enumerate()
                .map(|(i, s)| SecondRow {
                    second: i,
                    requests: s.requests,
                    failed: s.failed,
                    p50_ms: q(s, 0.5),
                    p95_ms: q(s, 0.95),
                    p99_ms: q(s, 0.99),
                })
                .collect(),
        }
    }
}
