//! `metrics/`: the route's request rate, 5xx share and p50/p95/p99 latency
//! over the incident's window plus 30 minutes either side, as Prometheus's
//! range-query answers (JSON) and as SVG charts drawn by the snapshot's
//! renderer. The queries are the API dashboard's (alertingscout-api), with the
//! route fixed, so a chart here reads like its panel in Grafana.
//!
//! A failed query still gives both files: the JSON is Prometheus's error
//! envelope with the reason, the chart is empty, and the report says why, so
//! an export never fails because Prometheus is down.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{BundleFile, METRICS_MARGIN};
use crate::dashboards::TimeRange;
use crate::prometheus::{Prometheus, QueryData};
use crate::snapshot::chart::{self, Frame, Line};

/// About this many points per series (as Grafana's max data points does).
const POINTS: i64 = 240;
/// Never finer than the scrape interval.
const MIN_STEP: i64 = 15;
const CHART_SIZE: (u32, u32) = (900, 300);

/// One of the dashboard's queries with the route fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    /// File name without extension: `metrics/<name>.json`.
    pub name: &'static str,
    /// The chart it belongs to: `metrics/<chart>.svg`.
    pub chart: &'static str,
    pub legend: &'static str,
    /// Grafana unit id, for the chart's axis.
    pub unit: &'static str,
    pub expr: String,
}

/// The range every query covers, and its step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub step: Duration,
}

/// The window plus the margin either side, at about `POINTS` points.
pub fn plan(from: DateTime<Utc>, to: DateTime<Utc>) -> Plan {
    let (start, end) = (from - METRICS_MARGIN, to + METRICS_MARGIN);
    let span = (end - start).num_seconds().max(1);
    let step = (span + POINTS - 1) / POINTS;
    Plan {
        start,
        end,
        step: Duration::from_secs(step.max(MIN_STEP) as u64),
    }
}

/// A PromQL double-quoted string.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The dashboard's request rate, 5xx share and latency quantiles for `route`
/// (every route when there is none), with a rate window of four steps (at
/// least a minute: two scrapes at the least).
pub fn queries(route: Option<&str>, step: Duration) -> Vec<MetricQuery> {
    let window = format!("{}s", (step.as_secs() * 4).max(60));
    let route = route
        .map(|r| format!(", http_route={}", quoted(r)))
        .unwrap_or_default();
    let sel = format!("job=\"alertingscout\"{route}");
    let count = format!("http_server_request_duration_seconds_count{{{sel}}}");
    let errors = format!(
        "http_server_request_duration_seconds_count{{{sel}, http_response_status_code=~\"5..\"}}"
    );
    let total = format!("sum(rate({count}[{window}]))");
    let quantile = |q: &str| {
        format!(
            "histogram_quantile({q}, sum by (le) (rate(http_server_request_duration_seconds_bucket{{{sel}}}[{window}])))"
        )
    };
    vec![
        MetricQuery {
            name: "request_rate",
            chart: "request_rate",
            legend: "requests/s",
            unit: "reqps",
            expr: total.clone(),
        },
        MetricQuery {
            name: "error_share",
            chart: "error_share",
            legend: "5xx share",
            unit: "percentunit",
            expr: format!("(sum(rate({errors}[{window}])) or vector(0)) / {total}"),
        },
        MetricQuery {
            name: "latency_p50",
            chart: "latency",
            legend: "p50",
            unit: "s",
            expr: quantile("0.5"),
        },
        MetricQuery {
            name: "latency_p95",
            chart: "latency",
            legend: "p95",
            unit: "s",
            expr: quantile("0.95"),
        },
        MetricQuery {
            name: "latency_p99",
            chart: "latency",
            legend: "p99",
            unit: "s",
            expr: quantile("0.99"),
        },
    ]
}

/// One query's answer: Prometheus's `data`, or why there is none.
#[derive(Debug, Clone)]
pub struct MetricResult {
    pub query: MetricQuery,
    pub answer: Result<Value, String>,
}

impl MetricResult {
    /// The file's JSON: Prometheus's envelope, success or error.
    pub fn envelope(&self) -> Value {
        match &self.answer {
            Ok(data) => json!({ "status": "success", "data": data }),
            Err(e) => json!({ "status": "error", "errorType": "unavailable", "error": e }),
        }
    }

    /// (t, v) points of every series.
    fn points(&self) -> Vec<Vec<(f64, f64)>> {
        let Ok(data) = &self.answer else {
            return Vec::new();
        };
        serde_json::from_value::<QueryData>(data.clone())
            .map(|d| {
                d.into_series()
                    .into_iter()
                    .map(|s| s.samples.iter().map(|p| (p.t, p.v)).collect())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The highest finite value over [from, to] (for the report).
    pub fn peak(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
        let (lo, hi) = (from.timestamp() as f64, to.timestamp() as f64);
        self.points()
            .into_iter()
            .flatten()
            .filter(|(t, v)| *t >= lo && *t <= hi && v.is_finite())
            .map(|(_, v)| v)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    }
}

pub async fn fetch(
    prometheus: &Prometheus,
    queries: Vec<MetricQuery>,
    plan: Plan,
) -> Vec<MetricResult> {
    let mut out = Vec::new();
    for query in queries {
        let answer = prometheus
            .query_range_json(&query.expr, plan.start, plan.end, plan.step)
            .await
            .map_err(|e| e.to_string());
        out.push(MetricResult { query, answer });
    }
    out
}

fn query_json(prometheus: &str, q: &MetricQuery, plan: &Plan) -> Value {
    json!({
        "prometheus": prometheus,
        "endpoint": "api/v1/query_range",
        "query": q.expr,
        "start": super::gather::iso(plan.start),
        "end": super::gather::iso(plan.end),
        "step": format!("{}s", plan.step.as_secs()),
    })
}

/// The JSON file of each query, then one SVG chart per chart name (its
/// queries as lines, in the palette's order).
pub fn files(results: &[MetricResult], plan: &Plan, prometheus: &str) -> Vec<BundleFile> {
    let mut files = Vec::new();
    for r in results {
        let mut bytes = serde_json::to_vec(&r.envelope()).unwrap_or_default();
        bytes.push(b'\n');
        files.push(BundleFile {
            path: format!("metrics/{}.json", r.query.name),
            bytes,
            query: query_json(prometheus, &r.query, plan),
        });
    }
    let mut charts: Vec<&'static str> = results.iter().map(|r| r.query.chart).collect();
    charts.dedup();
    let range = TimeRange {
        from: plan.start,
        to: plan.end,
    };
    for name in charts {
        let members: Vec<&MetricResult> =
            results.iter().filter(|r| r.query.chart == name).collect();
        let mut lines = Vec::new();
        for (i, r) in members.iter().enumerate() {
            for points in r.points() {
                lines.push(Line {
                    color: chart::color(i),
                    points,
                });
            }
        }
        let thresholds = match name {
            // The alert rules' thresholds (prometheus/rules/api.yml).
            "error_share" => vec![(0.10, chart::named_color("red"))],
            "latency" => vec![(1.0, chart::named_color("red"))],
            _ => Vec::new(),
        };
        let frame = Frame {
            range: &range,
            step: plan.step,
            unit: members.first().map(|r| r.query.unit),
            size: CHART_SIZE,
            thresholds,
        };
        let svg = chart::line_chart(&lines, &frame).unwrap_or_else(|e| {
            format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><text x=\"10\" y=\"20\">chart failed: {}</text></svg>", crate::snapshot::escape(&e))
        });
        let legend: Vec<Value> = members
            .iter()
            .enumerate()
            .map(|(i, r)| json!({ "legend": r.query.legend, "color": chart::hex(chart::color(i)), "query": r.query.expr }))
            .collect();
        files.push(BundleFile {
            path: format!("metrics/{name}.svg"),
            bytes: svg.into_bytes(),
            query: json!({ "prometheus": prometheus, "lines": legend, "start": super::gather::iso(plan.start), "end": super::gather::iso(plan.end) }),
        });
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn the_plan_adds_half_an_hour_either_side_at_a_bounded_step() {
        let p = plan(at("2026-12-01T10:00:00Z"), at("2026-12-01T10:05:00Z"));
        assert_eq!(p.start, at("2026-12-01T09:30:00Z"));
        assert_eq!(p.end, at("2026-12-01T10:35:00Z"));
        assert_eq!(p.step, Duration::from_secs(17));
        let p = plan(at("2026-12-01T10:00:00Z"), at("2026-12-01T10:00:00Z"));
        assert_eq!(p.step, Duration::from_secs(MIN_STEP as u64));
    }

    #[test]
    fn queries_fix_the_route_quoted_and_keep_the_dashboard_s_shape() {
        let q = queries(Some("/todos/{id}\"x"), Duration::from_secs(15));
        let names: Vec<&str> = q.iter().map(|q| q.name).collect();
        assert_eq!(
            names,
            [
                "request_rate",
                "error_share",
                "latency_p50",
                "latency_p95",
                "latency_p99"
            ]
        );
        assert_eq!(
            q[0].expr,
            "sum(rate(http_server_request_duration_seconds_count{job=\"alertingscout\", http_route=\"/todos/{id}\\\"x\"}[60s]))"
        );
        assert!(q[1]
            .expr
            .contains("http_response_status_code=~\"5..\"}[60s])) or vector(0)) / sum(rate("));
        assert!(q[4].expr.starts_with("histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{"));
        let all = queries(None, Duration::from_secs(60));
        assert!(!all[0].expr.contains("http_route"));
        assert!(all[0].expr.contains("[240s]"));
    }

    #[test]
    fn every_query_gives_a_json_file_and_every_chart_an_svg_even_on_errors() {
        let p = plan(at("2026-12-01T10:00:00Z"), at("2026-12-01T10:05:00Z"));
        let t = at("2026-12-01T10:01:00Z").timestamp();
        let mut results: Vec<MetricResult> = queries(Some("/a"), p.step)
            .into_iter()
            .map(|query| MetricResult {
                query,
                answer: Ok(json!({"resultType": "matrix", "result": [{"metric": {}, "values": [[t, "0.5"], [t + 17, "2"]]}]})),
            })
            .collect();
        results[1].answer = Err("connection refused".into());
        let files = files(&results, &p, "http://127.0.0.1:9090/");
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "metrics/request_rate.json",
                "metrics/error_share.json",
                "metrics/latency_p50.json",
                "metrics/latency_p95.json",
                "metrics/latency_p99.json",
                "metrics/request_rate.svg",
                "metrics/error_share.svg",
                "metrics/latency.svg"
            ]
        );
        let ok: Value = serde_json::from_slice(&files[0].bytes).expect("json");
        assert_eq!(ok["status"], "success");
        assert_eq!(ok["data"]["resultType"], "matrix");
        let failed: Value = serde_json::from_slice(&files[1].bytes).expect("json");
        assert_eq!(failed["status"], "error");
        assert_eq!(failed["error"], "connection refused");
        for svg in &files[5..] {
            assert!(svg.bytes.starts_with(b"<svg"), "{}", svg.path);
        }
        assert!(String::from_utf8_lossy(&files[7].bytes).contains("<polyline"));
        assert_eq!(files[0].query["query"], results[0].query.expr);
        assert_eq!(
            results[0].peak(at("2026-12-01T10:00:00Z"), at("2026-12-01T10:05:00Z")),
            Some(2.0)
        );
        assert_eq!(
            results[1].peak(at("2026-12-01T10:00:00Z"), at("2026-12-01T10:05:00Z")),
            None
        );
    }
}
