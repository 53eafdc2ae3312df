//! A self-contained HTML report (no scripts, no external files): latency percentiles and
//! request rate over time as inline SVG (drawn by plotters), then the thresholds, routes,
//! checks and fidelity.

use std::fmt::Write as _;

use plotters::prelude::*;

use super::RunReport;

const BLUE: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const ORANGE: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const RED: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const GREEN: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One line chart of several series over the run's seconds: a title, an HTML legend
/// and the `<svg>` plotters draws (axes, grid, labels), as oncall's snapshot charts are.
fn chart(title: &str, unit: &str, series: &[(&str, RGBColor, Vec<f64>)]) -> String {
    let mut out = format!("<h3>{}</h3><p>", esc(title));
    for (name, color, _) in series {
        let _ = write!(
            out,
            "<span style=\"color:#{:02x}{:02x}{:02x}\">&#9644; {}</span> ",
            color.0,
            color.1,
            color.2,
            esc(name)
        );
    }
    out.push_str("</p>");
    let mut svg = String::new();
    match draw(&mut svg, unit, series) {
        Ok(()) => out.push_str(&svg),
        // The tables below carry the same figures: a chart that cannot be drawn is noted.
        Err(e) => {
            let _ = write!(out, "<p>(chart not drawn: {})</p>", esc(&e));
        }
    }
    out
}

fn draw(svg: &mut String, unit: &str, series: &[(&str, RGBColor, Vec<f64>)]) -> Result<(), String> {
    let seconds = series.iter().map(|(_, _, v)| v.len()).max().unwrap_or(0);
    let max = series
        .iter()
        .flat_map(|(_, _, v)| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let root = SVGBackend::with_string(svg, (900, 260)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .margin(8)
        .margin_right(16)
        .x_label_area_size(26)
        .y_label_area_size(78)
        .build_cartesian_2d(0f64..(seconds.max(2) - 1) as f64, 0f64..max * 1.05)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_label_formatter(&|x| format!("{x:.0} s"))
        .y_label_formatter(&|y| format!("{y:.2} {unit}"))
        .draw()
        .map_err(|e| e.to_string())?;
    for (_, color, values) in series {
        chart
            .draw_series(LineSeries::new(
                values.iter().enumerate().map(|(i, v)| (i as f64, *v)),
                color.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
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
    if let Some((p50, p99)) = r.send_lag_ms {
        let _ = write!(
            h,
            "<p>Send lag after the due time (the generator's, part of every latency): p50 {p50:.3} ms, p99 {p99:.3} ms.</p>"
        );
    }
    let col = |f: fn(&super::SecondRow) -> f64| r.series.iter().map(f).collect::<Vec<f64>>();
    h.push_str(&chart(
        "Latency over time (per second)",
        "ms",
        &[
            ("p50", BLUE, col(|s| s.p50_ms)),
            ("p95", ORANGE, col(|s| s.p95_ms)),
            ("p99", RED, col(|s| s.p99_ms)),
        ],
    ));
    h.push_str(&chart(
        "Requests and failures per second",
        "/s",
        &[
            ("requests", GREEN, col(|s| s.requests as f64)),
            ("failed", RED, col(|s| s.failed as f64)),
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
