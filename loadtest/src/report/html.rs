//! A self-contained HTML report (no scripts, no external files): latency percentiles and
//! request rate over time as inline SVG, then the thresholds, routes, checks and fidelity.

use std::fmt::Write as _;

use super::RunReport;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One SVG line chart of several series over the run's seconds.
fn chart(title: &str, unit: &str, xs: usize, series: &[(&str, &str, Vec<f64>)]) -> String {
    let (w, h, left, bottom) = (900.0, 260.0, 80.0, 30.0);
    let max = series
        .iter()
        .flat_map(|(_, _, v)| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let x = |i: usize| left + (w - left - 10.0) * i as f64 / (xs.max(2) - 1) as f64;
    let y = |v: f64| (h - bottom) - (h - bottom - 10.0) * v / max;
    let mut svg = format!(
        "<h3>{}</h3><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\">",
        esc(title)
    );
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#999\"/><line x1=\"{left}\" y1=\"10\" x2=\"{left}\" y2=\"{0}\" stroke=\"#999\"/>",
        h - bottom,
        w - 10.0
    );
    for frac in [0.0, 0.5, 1.0] {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{:.2} {unit}</text>",
            left - 4.0,
            y(max * frac) + 4.0,
            max * frac
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{} s</text>",
        w - 10.0,
        h - 8.0,
        xs.saturating_sub(1)
    );
    for (k, (name, color, values)) in series.iter().enumerate() {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>",
            points.join(" ")
        );
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"20\" font-size=\"12\" fill=\"{color}\">{}</text>",
            left + 10.0 + 90.0 * k as f64,
            esc(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

pub fn render(r: &RunReport) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>loadtest {0}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         .pass{{color:#080}}.fail{{color:#c00;font-weight:bold}}</style></head><body>\
         <h1>loadtest: {0}</h1><p>{1}, {2} against {3}; {4:.1} s; {5} requests ({6:.1}/s), {7} failed.\
         Result: <span class=\"{8}\">{9}</span></p>",
        esc(&r.scenario),
        esc(&r.executor),
        esc(&r.vus),
        esc(&r.target),
        r.duration_s,
        r.total.requests,
        r.total.rate_per_s,
        r.total.failed,
        if r.passed { "pass" } else { "fail" },
        if r.passed {
            "every threshold passed"
        } else {
            "thresholds failed"
        }
    );
    let n = r.series.len();
    let col = |f: fn(&super::SecondRow) -> f64| r.series.iter().map(f).collect::<Vec<f64>>();
    h.push_str(&chart(
        "Latency over time (per second)",
        "ms",
        n,
        &[
            ("p50", "#1f77b4", col(|s| s.p50_ms)),
            ("p95", "#ff7f0e", col(|s| s.p95_ms)),
            ("p99", "#d62728", col(|s| s.p99_ms)),
        ],
    ));
    h.push_str(&chart(
        "Requests and failures per second",
        "/s",
        n,
        &[
            ("requests", "#2ca02c", col(|s| s.requests as f64)),
            ("failed", "#d62728", col(|s| s.failed as f64)),
        ],
    ));
    h.push_str(
        "<h2>Thresholds</h2><table><tr><th>threshold</th><th>observed</th><th>result</th></tr>",
    );
    for t in &r.thresholds {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(&t.threshold.source),
            t.observed.map_or("no data".into(), |v| format!("{v:.4}")),
            if t.pass { "pass" } else { "fail" },
            if t.pass { "pass" } else { "FAIL" }
        );
    }
    h.push_str("</table><h2>Routes (latency in ms)</h2><table><tr><th>route</th><th>requests</th><th>failed</th><th>req/s</th><th>avg</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr>");
    for row in r.routes.iter().chain(std::iter::once(&r.total)) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            esc(&row.route), row.requests, row.failed, row.rate_per_s, row.avg_ms,
            row.p50_ms, row.p90_ms, row.p95_ms, row.p99_ms, row.max_ms
        );
    }
    h.push_str(
        "</table><h2>Checks</h2><table><tr><th>check</th><th>passed</th><th>failed</th></tr>",
    );
    for c in &r.checks {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(&c.name),
            c.passed,
            if c.failed == 0 { "pass" } else { "fail" },
            c.failed
        );
    }
    h.push_str("</table>");
    if let Some(f) = &r.fidelity {
        let _ = write!(
            h,
            "<h2>Fidelity</h2><p>Answered requests vs the service's own count ({})</p><table><tr><th>route</th><th>sent</th><th>service counted</th></tr>",
            esc(&f.source)
        );
        for row in &f.routes {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                esc(&row.route),
                row.sent,
                if row.sent == row.counted {
                    "pass"
                } else {
                    "fail"
                },
                row.counted
            );
        }
        h.push_str("</table>");
    }
    if !r.failures.is_empty() {
        h.push_str("<h2>First failures</h2><table><tr><th>x-request-id</th><th>route</th><th>path</th><th>status</th><th>reason</th></tr>");
        for f in &r.failures {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&f.request_id),
                esc(f.route),
                esc(&f.path),
                f.status,
                esc(&f.reason)
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</body></html>\n");
    h
}
