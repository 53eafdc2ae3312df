//! The pure part of `oncall cost`: from what was measured (index stats, the
//! window's document counts, the request count, Prometheus's TSDB figures) to
//! per-request figures, the forecast at fixed request rates and the levers.
//! No I/O here; `gather` measures, `render` prints.
//!
//! Units: bytes, and MB = 10^6 bytes.

use serde::Serialize;

/// The request rates of the forecast, per second.
pub const RATES: [f64; 3] = [10.0, 100.0, 1000.0];
/// Days of storage in the forecast: the retention (FR-006).
pub const STORAGE_DAYS: f64 = 14.0;
/// The share of traces kept by the sampling lever.
pub const TRACE_SAMPLE_RATIO: f64 = 0.1;
/// Log levels the WARN lever drops (compared case-insensitively).
pub const BELOW_WARN: [&str; 3] = ["trace", "debug", "info"];
/// The route of the health check, whose access log the /health lever drops.
pub const HEALTH_ROUTE: &str = "/health";

const SECONDS_PER_DAY: f64 = 86_400.0;
const MB: f64 = 1_000_000.0;

/// `_stats` of every index a pattern matches, primaries only, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IndexStats {
    pub indices: u64,
    pub docs: u64,
    pub store_bytes: u64,
}

/// What Elasticsearch holds in the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EsWindow {
    pub log_docs: u64,
    pub span_docs: u64,
    /// Log documents by `log.level`, as stored (e.g. `INFO`).
    pub levels: Vec<(String, u64)>,
    /// Log documents with `http.route` = /health.
    pub health_docs: u64,
}

/// What Prometheus says about itself; `None` where a metric is absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromMeasured {
    pub head_series: Option<u64>,
    pub series_by_route: Vec<(String, u64)>,
    /// Top series counts by metric name (/api/v1/status/tsdb), largest first.
    pub series_by_metric: Vec<(String, u64)>,
    pub blocks_bytes: Option<f64>,
    pub wal_bytes: Option<f64>,
    pub samples_appended: Option<f64>,
    pub scrape_interval_seconds: Option<f64>,
    /// `wal_bytes` is WAL pages written x 32 KiB (Prometheus before 2.45 has
    /// no prometheus_tsdb_wal_storage_size_bytes).
    pub wal_from_pages: bool,
}

/// Everything `oncall cost` measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    pub from: String,
    pub to: String,
    pub window_seconds: f64,
    pub logs_index: String,
    pub traces_index: String,
    pub logs: IndexStats,
    pub traces: IndexStats,
    pub window: EsWindow,
    /// The service's requests in the window; `None` without Prometheus.
    pub requests: Option<f64>,
    pub prometheus: Option<PromMeasured>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub window: Window,
    /// The service's requests in the window (Prometheus); null without it.
    pub requests: Option<f64>,
    pub elasticsearch: EsReport,
    pub prometheus: Option<PromReport>,
    /// One row per rate of [`RATES`]; empty without a request count.
    pub forecast: Vec<ForecastRow>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub from: String,
    pub to: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EsReport {
    pub logs: IndexReport,
    pub traces: IndexReport,
    /// Logs and traces together, per request.
    pub docs_per_request: Option<f64>,
    pub bytes_per_request: Option<f64>,
    pub log_levels: Vec<Share>,
    pub health_access_log: Share,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexReport {
    pub index_pattern: String,
    pub indices: u64,
    pub index_docs: u64,
    pub index_store_bytes: u64,
    /// Primary store bytes over documents of the whole indices.
    pub bytes_per_doc: Option<f64>,
    pub window_docs: u64,
    /// `window_docs` x `bytes_per_doc`.
    pub window_bytes: Option<f64>,
    pub docs_per_request: Option<f64>,
    pub bytes_per_request: Option<f64>,
}

/// A part of the window's log documents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub name: String,
    pub docs: u64,
    pub bytes: Option<f64>,
    /// Of the window's log documents (and bytes: one bytes/doc per index type).
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromReport {
    pub head_series: Option<u64>,
    pub series_by_route: Vec<NamedCount>,
    pub series_by_metric: Vec<NamedCount>,
    pub blocks_bytes: Option<f64>,
    pub wal_bytes: Option<f64>,
    pub samples_appended: Option<f64>,
    /// (blocks + WAL) / samples appended: an estimate, rough early in a TSDB's life.
    pub bytes_per_sample: Option<f64>,
    pub scrape_interval_seconds: Option<f64>,
    /// head_series x 86400 / scrape interval.
    pub samples_per_day: Option<f64>,
    pub mb_per_day: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedCount {
    pub name: String,
    pub series: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastRow {
    pub requests_per_second: f64,
    pub elasticsearch_mb_per_day: f64,
    pub elasticsearch_mb_14d: f64,
    /// The same at every rate: series do not grow with the request rate.
    pub prometheus_mb_per_day: Option<f64>,
    pub prometheus_mb_14d: Option<f64>,
    pub total_mb_per_day: f64,
    pub total_mb_14d: f64,
    pub levers: Levers,
}

/// MB/day each lever saves at a rate, alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Levers {
    /// Keeping 10 % of traces: span bytes x 0.9.
    pub sample_traces_10pct_mb_per_day: f64,
    /// No access log for /health: the /health log bytes.
    pub drop_health_access_log_mb_per_day: f64,
    /// Log level WARN: the TRACE/DEBUG/INFO log bytes.
    pub log_level_warn_mb_per_day: f64,
}

/// `numerator / denominator`, none when the denominator is not positive.
fn per(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| numerator / denominator)
}

fn index_report(
    pattern: &str,
    stats: IndexStats,
    window_docs: u64,
    requests: Option<f64>,
) -> IndexReport {
    let bytes_per_doc = per(stats.store_bytes as f64, stats.docs as f64);
    let window_bytes = bytes_per_doc.map(|b| b * window_docs as f64);
    let docs_per_request = requests.and_then(|r| per(window_docs as f64, r));
    let bytes_per_request = match (window_bytes, requests) {
        (Some(b), Some(r)) => per(b, r),
        _ => None,
    };
    IndexReport {
        index_pattern: pattern.to_owned(),
        indices: stats.indices,
        index_docs: stats.docs,
        index_store_bytes: stats.store_bytes,
        bytes_per_doc,
        window_docs,
        window_bytes,
        docs_per_request,
        bytes_per_request,
    }
}

fn share(name: &str, docs: u64, total: u64, bytes_per_doc: Option<f64>) -> Share {
    Share {
        name: name.to_owned(),
        docs,
        bytes: bytes_per_doc.map(|b| b * docs as f64),
        share: per(docs as f64, total as f64),
    }
}

fn prom_report(p: &PromMeasured) -> PromReport {
    let stored = match (p.blocks_bytes, p.wal_bytes) {
        (Some(b), Some(w)) => Some(b + w),
        (Some(b), None) => Some(b),
        (None, Some(w)) => Some(w),
        (None, None) => None,
    };
    // Nothing on disk yet is no figure rather than 0 bytes per sample.
    let bytes_per_sample = match (stored, p.samples_appended) {
        (Some(s), Some(n)) if s > 0.0 => per(s, n),
        _ => None,
    };
    let samples_per_day = match (p.head_series, p.scrape_interval_seconds) {
        (Some(series), Some(interval)) => per(series as f64 * SECONDS_PER_DAY, interval),
        _ => None,
    };
    let mb_per_day = match (samples_per_day, bytes_per_sample) {
        (Some(n), Some(b)) => Some(n * b / MB),
        _ => None,
    };
    let named = |v: &[(String, u64)]| {
        v.iter()
            .map(|(name, series)| NamedCount {
                name: name.clone(),
                series: *series,
            })
            .collect()
    };
    PromReport {
        head_series: p.head_series,
        series_by_route: named(&p.series_by_route),
        series_by_metric: named(&p.series_by_metric),
        blocks_bytes: p.blocks_bytes,
        wal_bytes: p.wal_bytes,
        samples_appended: p.samples_appended,
        bytes_per_sample,
        scrape_interval_seconds: p.scrape_interval_seconds,
        samples_per_day,
        mb_per_day,
    }
}

/// MB/day of `bytes_per_request` at `rate` requests per second.
fn mb_per_day(bytes_per_request: f64, rate: f64) -> f64 {
    bytes_per_request * rate * SECONDS_PER_DAY / MB
}

/// The figures, forecast and levers from the measurements.
pub fn report(m: &Measured) -> Report {
    let logs = index_report(&m.logs_index, m.logs, m.window.log_docs, m.requests);
    let traces = index_report(&m.traces_index, m.traces, m.window.span_docs, m.requests);
    let docs_per_request = m
        .requests
        .and_then(|r| per((m.window.log_docs + m.window.span_docs) as f64, r));
    let bytes_per_request = match (logs.bytes_per_request, traces.bytes_per_request) {
        (Some(l), Some(t)) => Some(l + t),
        (Some(l), None) if m.window.span_docs == 0 => Some(l),
        (None, Some(t)) if m.window.log_docs == 0 => Some(t),
        _ => None,
    };
    let mut levels: Vec<Share> = m
        .window
        .levels
        .iter()
        .map(|(level, docs)| share(level, *docs, m.window.log_docs, logs.bytes_per_doc))
        .collect();
    levels.sort_by(|a, b| b.docs.cmp(&a.docs).then_with(|| a.name.cmp(&b.name)));
    let health = share(
        HEALTH_ROUTE,
        m.window.health_docs,
        m.window.log_docs,
        logs.bytes_per_doc,
    );
    let below_warn_docs: u64 = m
        .window
        .levels
        .iter()
        .filter(|(level, _)| BELOW_WARN.contains(&level.to_ascii_lowercase().as_str()))
        .map(|(_, docs)| docs)
        .sum();
    let prometheus = m.prometheus.as_ref().map(prom_report);

    let mut forecast = Vec::new();
    if let (Some(requests), Some(es_per_request)) = (m.requests, bytes_per_request) {
        let log_bpd = logs.bytes_per_doc.unwrap_or(0.0);
        let span_per_request = traces.bytes_per_request.unwrap_or(0.0);
        let health_per_request = m.window.health_docs as f64 * log_bpd / requests;
        let below_warn_per_request = below_warn_docs as f64 * log_bpd / requests;
        let prom_day = prometheus.as_ref().and_then(|p| p.mb_per_day);
        for rate in RATES {
            let es_day = mb_per_day(es_per_request, rate);
            let total_day = es_day + prom_day.unwrap_or(0.0);
            forecast.push(ForecastRow {
                requests_per_second: rate,
                elasticsearch_mb_per_day: es_day,
                elasticsearch_mb_14d: es_day * STORAGE_DAYS,
                prometheus_mb_per_day: prom_day,
                prometheus_mb_14d: prom_day.map(|d| d * STORAGE_DAYS),
                total_mb_per_day: total_day,
                total_mb_14d: total_day * STORAGE_DAYS,
                levers: Levers {
                    sample_traces_10pct_mb_per_day: mb_per_day(
                        span_per_request * (1.0 - TRACE_SAMPLE_RATIO),
                        rate,
                    ),
                    drop_health_access_log_mb_per_day: mb_per_day(health_per_request, rate),
                    log_level_warn_mb_per_day: mb_per_day(below_warn_per_request, rate),
                },
            });
        }
    }

    let mut notes = vec![
        "Elasticsearch store size is per index: bytes/doc is primary store bytes over documents of \
         the whole matching indices (per index type), applied to the window's document counts."
            .to_owned(),
        "Level and /health byte shares equal their document shares (one bytes/doc for all logs)."
            .to_owned(),
    ];
    match m.requests {
        None => notes.push(
            "No request count (--no-prometheus): per-request figures and the forecast are omitted."
                .to_owned(),
        ),
        Some(r) if r <= 0.0 => notes.push(
            "No requests in the window: per-request figures and the forecast are omitted."
                .to_owned(),
        ),
        Some(_) => {}
    }
    if let Some(p) = &prometheus {
        notes.push(
            "Prometheus series do not grow with the request rate: its MB/day is the same at every rate."
                .to_owned(),
        );
        notes.push(
            "Bytes per sample = (blocks + WAL bytes) / samples appended since Prometheus started: an \
             estimate, rough early in a TSDB's life (WAL not yet compacted, few blocks)."
                .to_owned(),
        );
        if m.prometheus.as_ref().is_some_and(|p| p.wal_from_pages) {
            notes.push(
                "WAL bytes estimated as WAL pages written x 32 KiB (this Prometheus has no \
                 prometheus_tsdb_wal_storage_size_bytes)."
                    .to_owned(),
            );
        }
        if p.mb_per_day.is_none() {
            notes.push(
                "Prometheus storage per day unknown (a prometheus_tsdb_* metric or the scrape interval is missing)."
                    .to_owned(),
            );
        }
    }
    Report {
        window: Window {
            from: m.from.clone(),
            to: m.to.clone(),
            seconds: m.window_seconds,
        },
        requests: m.requests,
        elasticsearch: EsReport {
            logs,
            traces,
            docs_per_request,
            bytes_per_request,
            log_levels: levels,
            health_access_log: health,
        },
        prometheus,
        forecast,
        notes,
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
