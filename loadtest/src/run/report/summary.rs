//! The end-of-test summary on stdout, in k6's spirit: thresholds first, then checks, the
//! per-route latency table, iterations, fidelity and the failures' request ids.

use std::fmt::Write as _;

use super::{RouteRow, RunReport};

fn route_line(out: &mut String, r: &RouteRow) {
    let _ = writeln!(
        out,
        "    {:<36} {:>8} {:>7} {:>8.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.2}",
        r.route,
        r.requests,
        r.failed,
        r.rate_per_s,
        r.avg_ms,
        r.p50_ms,
        r.p90_ms,
        r.p95_ms,
        r.p99_ms,
        r.max_ms
    );
}

pub fn render(r: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n  scenario: {} ({}, {}) -> {}, {:.1} s",
        r.scenario, r.executor, r.vus, r.target, r.duration_s
    );
    let _ = writeln!(out, "\n  THRESHOLDS");
    if r.thresholds.is_empty() {
        let _ = writeln!(out, "    (none)");
    }
    for t in &r.thresholds {
        let _ = writeln!(out, "    {t}");
    }
    let passed: u64 = r.checks.iter().map(|c| c.passed).sum();
    let failed: u64 = r.checks.iter().map(|c| c.failed).sum();
    let total = (passed + failed).max(1);
    let _ = writeln!(
        out,
        "\n  CHECKS  {:.2}%  ✓ {passed}  ✗ {failed}",
        100.0 * passed as f64 / total as f64
    );
    for c in &r.checks {
        let mark = if c.failed == 0 { "✓" } else { "✗" };
        let _ = writeln!(
            out,
            "    {mark} {:<60} ✓ {:<8} ✗ {}",
            c.name, c.passed, c.failed
        );
    }
    let _ = writeln!(out, "\n  HTTP (latency in ms{})", latency_origin(r));
    let _ = writeln!(
        out,
        "    {:<36} {:>8} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "route", "reqs", "failed", "req/s", "avg", "p50", "p90", "p95", "p99", "max"
    );
    for route in &r.routes {
        route_line(&mut out, route);
    }
    route_line(&mut out, &r.total);
    let _ = writeln!(
        out,
        "\n  iterations {}  dropped {}  started late {}",
        r.iterations, r.dropped_iterations, r.late_iterations
    );
    if let Some((p50, p99)) = r.send_lag_ms {
        let _ = writeln!(
            out,
            "  send lag after the due time (generator, part of the latency): p50 {p50:.3}ms p99 {p99:.3}ms"
        );
    }
    let _ = writeln!(
        out,
        "  goose counted {} requests, {} failed",
        r.goose.requests, r.goose.failed
    );
    match &r.fidelity {
        None => {
            let _ = writeln!(out, "  fidelity: not checked");
        }
        Some(f) => {
            let _ = writeln!(
                out,
                "\n  FIDELITY (answered requests vs the service's own count, {})",
                f.source
            );
            for row in &f.routes {
                let mark = if row.sent == row.counted {
                    "✓"
                } else {
                    "✗"
                };
                let _ = writeln!(
                    out,
                    "    {mark} {:<36} sent {:>8}  service counted {:>8}",
                    row.route, row.sent, row.counted
                );
            }
        }
    }
    if r.failures_total > 0 {
        let _ = writeln!(
            out,
            "\n  FAILURES: {} (first {} by x-request-id; grep the service's logs for them)",
            r.failures_total,
            r.failures.len()
        );
        for f in &r.failures {
            let _ = writeln!(
                out,
                "    {}  {} {} -> {} {}",
                f.request_id, f.route, f.path, f.status, f.reason
            );
        }
    }
    let _ = writeln!(
        out,
        "\n  result: {}",
        if r.passed {
            "every threshold passed"
        } else {
            "THRESHOLDS FAILED (exit 99)"
        }
    );
    out
}

fn latency_origin(r: &RunReport) -> &'static str {
    if r.executor.contains("arrival-rate") {
        ", from each iteration's scheduled start"
    } else {
        ", from the send"
    }
}
