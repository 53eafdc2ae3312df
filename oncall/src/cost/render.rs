//! `oncall cost`'s output: a readable table, or the [`Report`] as JSON (its
//! field names are the stable keys scripts and tests read).

use std::fmt::Write;

use crate::cost::model::{Report, STORAGE_DAYS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

pub fn json(report: &Report) -> anyhow::Result<String> {
    Ok(format!("{}\n", serde_json::to_string_pretty(report)?))
}

fn num(v: Option<f64>) -> String {
    match v {
        None => "n/a".to_owned(),
        Some(v) if v.abs() >= 100.0 || v == v.trunc() => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1} %", v * 100.0))
        .unwrap_or_else(|| "n/a".to_owned())
}

fn mb(v: f64) -> String {
    format!("{v:.1}")
}

/// The table `oncall cost` prints by default.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let es = &r.elasticsearch;
    let w = es
        .logs
        .index_pattern
        .len()
        .max(es.traces.index_pattern.len())
        .max("pattern".len());
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "Window {} .. {} ({} s); requests (Prometheus): {}",
        r.window.from,
        r.window.to,
        num(Some(r.window.seconds)),
        num(r.requests)
    );
    let _ = writeln!(out, "\nElasticsearch (primary store)");
    let _ = writeln!(
        out,
        "  {:<8} {:<w$} {:>7} {:>12} {:>14} {:>10} {:>12} {:>10} {:>11}",
        "",
        "pattern",
        "indices",
        "index docs",
        "index bytes",
        "bytes/doc",
        "window docs",
        "docs/req",
        "bytes/req"
    );
    for (name, i) in [("logs", &es.logs), ("traces", &es.traces)] {
        let _ = writeln!(
            out,
            "  {:<8} {:<w$} {:>7} {:>12} {:>14} {:>10} {:>12} {:>10} {:>11}",
            name,
            i.index_pattern,
            i.indices,
            i.index_docs,
            i.index_store_bytes,
            num(i.bytes_per_doc),
            i.window_docs,
            num(i.docs_per_request),
            num(i.bytes_per_request)
        );
    }
    let _ = writeln!(
        out,
        "  per request: {} documents, {} bytes; spans per request: {}",
        num(es.docs_per_request),
        num(es.bytes_per_request),
        num(es.traces.docs_per_request)
    );
    let _ = writeln!(
        out,
        "\n  log documents in the window by log.level (bytes share = docs share)"
    );
    for s in es
        .log_levels
        .iter()
        .chain(std::iter::once(&es.health_access_log))
    {
        let name = if s.name == es.health_access_log.name {
            format!("route {}", s.name)
        } else {
            s.name.clone()
        };
        let _ = writeln!(
            out,
            "  {:<16} {:>10} docs {:>14} bytes {:>8}",
            name,
            s.docs,
            num(s.bytes),
            pct(s.share)
        );
    }
    match &r.prometheus {
        None => {
            let _ = writeln!(out, "\nPrometheus: not measured (--no-prometheus)");
        }
        Some(p) => {
            let _ = writeln!(out, "\nPrometheus");
            let _ = writeln!(
                out,
                "  active series {}; bytes/sample {} (estimate); scrape interval {} s; samples/day {}; MB/day {}",
                p.head_series.map(|n| n.to_string()).unwrap_or_else(|| "n/a".to_owned()),
                num(p.bytes_per_sample),
                num(p.scrape_interval_seconds),
                num(p.samples_per_day),
                num(p.mb_per_day)
            );
            let _ = writeln!(out, "  series by http_route");
            for c in &p.series_by_route {
                let _ = writeln!(out, "    {:>8}  {}", c.series, c.name);
            }
            let _ = writeln!(out, "  series by metric name (top 10)");
            for c in &p.series_by_metric {
                let _ = writeln!(out, "    {:>8}  {}", c.series, c.name);
            }
        }
    }
    if !r.forecast.is_empty() {
        let days = STORAGE_DAYS;
        let _ = writeln!(
            out,
            "\nForecast (MB = 10^6 bytes; Prometheus does not grow with the rate)"
        );
        let _ = writeln!(
            out,
            "  {:>6} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} | {:>14} {:>14} {:>14}",
            "req/s",
            "ES MB/day",
            format!("ES {days} d"),
            "Prom MB/day",
            format!("Prom {days} d"),
            "total MB/day",
            format!("total {days} d"),
            "traces 10 %",
            "no /health log",
            "level WARN"
        );
        for f in &r.forecast {
            let _ = writeln!(
                out,
                "  {:>6} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} | {:>14} {:>14} {:>14}",
                f.requests_per_second,
                mb(f.elasticsearch_mb_per_day),
                mb(f.elasticsearch_mb_14d),
                f.prometheus_mb_per_day
                    .map(mb)
                    .unwrap_or_else(|| "n/a".to_owned()),
                f.prometheus_mb_14d
                    .map(mb)
                    .unwrap_or_else(|| "n/a".to_owned()),
                mb(f.total_mb_per_day),
                mb(f.total_mb_14d),
                format!("-{}", mb(f.levers.sample_traces_10pct_mb_per_day)),
                format!("-{}", mb(f.levers.drop_health_access_log_mb_per_day)),
                format!("-{}", mb(f.levers.log_level_warn_mb_per_day)),
            );
        }
        let _ = writeln!(out, "  (levers: MB/day saved, each alone)");
    }
    let _ = writeln!(out);
    for note in &r.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::model::{report, EsWindow, IndexStats, Measured, PromMeasured};

    fn measured(requests: Option<f64>) -> Measured {
        Measured {
            from: "2026-12-01T10:00:00Z".to_owned(),
            to: "2026-12-01T11:00:00Z".to_owned(),
            window_seconds: 3600.0,
            logs_index: "logs-alertingscout-a-much-longer-pattern-than-usual-*".to_owned(),
            traces_index: "traces-alertingscout-*".to_owned(),
            logs: IndexStats {
                indices: 1,
                docs: 10,
                store_bytes: 5000,
            },
            traces: IndexStats {
                indices: 1,
                docs: 20,
                store_bytes: 8000,
            },
            window: EsWindow {
                log_docs: 10,
                span_docs: 20,
                levels: vec![("INFO".to_owned(), 8), ("ERROR".to_owned(), 2)],
                health_docs: 4,
            },
            requests,
            prometheus: requests.map(|_| PromMeasured {
                head_series: Some(100),
                series_by_route: vec![("/health".to_owned(), 7)],
                series_by_metric: vec![("up".to_owned(), 3)],
                blocks_bytes: Some(1000.0),
                wal_bytes: Some(1000.0),
                samples_appended: Some(1000.0),
                scrape_interval_seconds: Some(5.0),
                wal_from_pages: false,
            }),
        }
    }

    #[test]
    fn the_table_shows_shares_series_and_the_forecast() {
        let text = table(&report(&measured(Some(10.0))));
        for want in [
            "logs-alertingscout-a-much-longer-pattern-than-usual-*",
            "INFO",
            "80.0 %",
            "route /health",
            "40.0 %",
            "active series 100",
            "bytes/sample 2 (estimate)",
            "/health",
            "Forecast",
            "     10 ",
            "   1000 ",
            "note: Prometheus series do not grow",
        ] {
            assert!(text.contains(want), "{want:?} missing from\n{text}");
        }
        // One column per header: the rows line up with a long pattern too.
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("alertingscout-"))
            .collect();
        let header = text
            .lines()
            .find(|l| l.contains("pattern"))
            .unwrap_or_default();
        for row in rows {
            assert_eq!(row.len(), header.len(), "{row}\n{header}");
        }
        let text = table(&report(&measured(None)));
        assert!(text.contains("not measured (--no-prometheus)"), "{text}");
        assert!(!text.contains("Forecast"), "{text}");
    }

    #[test]
    fn json_keys_are_stable() {
        let value: serde_json::Value =
            serde_json::from_str(&json(&report(&measured(Some(10.0)))).expect("json"))
                .expect("parses");
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(
            keys(&value),
            [
                "elasticsearch",
                "forecast",
                "notes",
                "prometheus",
                "requests",
                "window"
            ]
        );
        assert_eq!(
            keys(&value["elasticsearch"]["logs"]),
            [
                "bytes_per_doc",
                "bytes_per_request",
                "docs_per_request",
                "index_docs",
                "index_pattern",
                "index_store_bytes",
                "indices",
                "window_bytes",
                "window_docs"
            ]
        );
        assert_eq!(
            keys(&value["forecast"][0]),
            [
                "elasticsearch_mb_14d",
                "elasticsearch_mb_per_day",
                "levers",
                "prometheus_mb_14d",
                "prometheus_mb_per_day",
                "requests_per_second",
                "total_mb_14d",
                "total_mb_per_day"
            ]
        );
        assert_eq!(
            keys(&value["forecast"][0]["levers"]),
            [
                "drop_health_access_log_mb_per_day",
                "log_level_warn_mb_per_day",
                "sample_traces_10pct_mb_per_day"
            ]
        );
        assert_eq!(
            keys(&value["prometheus"]),
            [
                "blocks_bytes",
                "bytes_per_sample",
                "head_series",
                "mb_per_day",
                "samples_appended",
                "samples_per_day",
                "scrape_interval_seconds",
                "series_by_metric",
                "series_by_route",
                "wal_bytes"
            ]
        );
        assert_eq!(
            keys(&value["elasticsearch"]["health_access_log"]),
            ["bytes", "docs", "name", "share"]
        );
    }
}
