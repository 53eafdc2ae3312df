//! The I/O of `oncall cost`: index stats and the window's aggregations from
//! Elasticsearch, the request count and TSDB figures from Prometheus, into
//! [`Measured`]. Every error says which request failed and what it needs.

use anyhow::{bail, Context};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::cost::model::{EsWindow, IndexStats, Measured, PromMeasured, HEALTH_ROUTE};
use crate::elasticsearch::{Elasticsearch, EsError};
use crate::prometheus::{Prometheus, QueryData};

/// Top metric names kept from /api/v1/status/tsdb.
const TOP_METRICS: usize = 10;

/// Prometheus's WAL page size (tsdb/wlog: 32 KiB).
const WAL_PAGE_BYTES: f64 = 32.0 * 1024.0;

/// The service's request counter and its job.
pub const REQUESTS_METRIC: &str = "http_server_request_duration_seconds_count";
pub const REQUESTS_JOB: &str = "alertingscout";

pub struct Sources<'a> {
    pub es: &'a Elasticsearch,
    pub prometheus: Option<&'a Prometheus>,
    pub logs_index: &'a str,
    pub traces_index: &'a str,
}

pub async fn measure(
    s: &Sources<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<Measured> {
    let window_ms = (to - from).num_milliseconds();
    if window_ms <= 0 {
        bail!("the window is empty: --from must be before --to");
    }
    let logs = index_stats(s.es, s.logs_index).await?;
    let traces = index_stats(s.es, s.traces_index).await?;
    let window = es_window(s, from, to).await?;
    stats_visible(s.logs_index, &logs, window.log_docs)?;
    stats_visible(s.traces_index, &traces, window.span_docs)?;
    let (requests, prometheus) = match s.prometheus {
        Some(p) => {
            let requests = requests(p, window_ms, to).await?;
            (Some(requests), Some(prom_measured(p, to).await?))
        }
        None => (None, None),
    };
    Ok(Measured {
        from: from.to_rfc3339_opts(SecondsFormat::Secs, true),
        to: to.to_rfc3339_opts(SecondsFormat::Secs, true),
        window_seconds: window_ms as f64 / 1000.0,
        logs_index: s.logs_index.to_owned(),
        traces_index: s.traces_index.to_owned(),
        logs,
        traces,
        window,
        requests,
        prometheus,
    })
}

/// With security on, a wildcard resolves to the indices the user may
/// `monitor`: without the privilege, _stats answers "no index", not 403.
pub fn stats_visible(pattern: &str, stats: &IndexStats, window_docs: u64) -> anyhow::Result<()> {
    if stats.indices == 0 && window_docs > 0 {
        bail!(
            "index stats of {pattern} show no index, but the window holds {window_docs} of its \
             documents: the Elasticsearch user lacks the `monitor` index privilege (run as elastic-admin)"
        );
    }
    Ok(())
}

fn es_context(e: EsError, what: &str) -> anyhow::Error {
    let hint = match &e {
        EsError::Status { status: 401, .. } => {
            " (set ONCALL_ELASTICSEARCH_USER/ONCALL_ELASTICSEARCH_PASSWORD)"
        }
        EsError::Status { status: 403, .. } => {
            " (the user needs the monitor and read privileges on the logs and traces indices, e.g. elastic-admin)"
        }
        _ => "",
    };
    anyhow::anyhow!("{what}: {e}{hint}")
}

/// `GET {pattern}/_stats/docs,store`: primaries of every matching index, summed.
async fn index_stats(es: &Elasticsearch, pattern: &str) -> anyhow::Result<IndexStats> {
    let answer = es
        .send(
            reqwest::Method::GET,
            &format!("{pattern}/_stats/docs,store"),
            &[("ignore_unavailable", "true"), ("allow_no_indices", "true")],
            None,
        )
        .await
        .map_err(|e| es_context(e, &format!("index stats of {pattern}")))?;
    parse_index_stats(&answer).with_context(|| format!("index stats of {pattern}"))
}

pub fn parse_index_stats(answer: &Value) -> anyhow::Result<IndexStats> {
    let mut stats = IndexStats::default();
    let Some(indices) = answer.get("indices").and_then(Value::as_object) else {
        // No matching index: Elasticsearch leaves `indices` empty or out.
        return Ok(stats);
    };
    for (name, index) in indices {
        let primaries = &index["primaries"];
        let docs = primaries["docs"]["count"].as_u64();
        let bytes = primaries["store"]["size_in_bytes"].as_u64();
        let (Some(docs), Some(bytes)) = (docs, bytes) else {
            bail!("index {name} has no primaries.docs.count / primaries.store.size_in_bytes");
        };
        stats.indices += 1;
        stats.docs += docs;
        stats.store_bytes += bytes;
    }
    Ok(stats)
}

fn range(from: DateTime<Utc>, to: DateTime<Utc>) -> Value {
    json!({"range": {"@timestamp": {
        "gte": from.to_rfc3339_opts(SecondsFormat::Millis, true),
        "lt": to.to_rfc3339_opts(SecondsFormat::Millis, true),
    }}})
}

async fn es_window(
    s: &Sources<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<EsWindow> {
    let logs =
        s.es.search(
            s.logs_index,
            &json!({
                "size": 0,
                "track_total_hits": true,
                "query": range(from, to),
                "aggs": {
                    "levels": {"terms": {"field": "log.level", "size": 100, "missing": "(none)"}},
                    "health": {"filter": {"term": {"http.route": HEALTH_ROUTE}}},
                },
            }),
        )
        .await
        .map_err(|e| es_context(e, &format!("counting {} in the window", s.logs_index)))?;
    let spans =
        s.es.search(
            s.traces_index,
            &json!({"size": 0, "track_total_hits": true, "query": range(from, to)}),
        )
        .await
        .map_err(|e| es_context(e, &format!("counting {} in the window", s.traces_index)))?;
    parse_window(&logs, &spans)
}

pub fn parse_window(logs: &Value, spans: &Value) -> anyhow::Result<EsWindow> {
    let total = |v: &Value, what: &str| {
        v["hits"]["total"]["value"]
            .as_u64()
            .with_context(|| format!("the {what} search has no hits.total.value"))
    };
    let levels = logs["aggregations"]["levels"]["buckets"]
        .as_array()
        .map(|buckets| {
            buckets
                .iter()
                .filter_map(|b| {
                    let key = match &b["key"] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    Some((key, b["doc_count"].as_u64()?))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(EsWindow {
        log_docs: total(logs, "logs")?,
        span_docs: total(spans, "traces")?,
        levels,
        health_docs: logs["aggregations"]["health"]["doc_count"]
            .as_u64()
            .unwrap_or(0),
    })
}

/// Sum of an instant vector's values; `None` when it is empty.
fn sum(data: QueryData) -> Option<f64> {
    let values: Vec<f64> = data
        .into_series()
        .into_iter()
        .filter_map(|s| s.samples.last().map(|x| x.v))
        .filter(|v| v.is_finite())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

async fn requests(p: &Prometheus, window_ms: i64, to: DateTime<Utc>) -> anyhow::Result<f64> {
    let expr = format!("sum(increase({REQUESTS_METRIC}{{job=\"{REQUESTS_JOB}\"}}[{window_ms}ms]))");
    let data = p.query(&expr, to).await.map_err(prom_hint)?;
    Ok(sum(data).unwrap_or(0.0))
}

fn prom_hint(e: crate::prometheus::PromError) -> anyhow::Error {
    match e {
        crate::prometheus::PromError::Unreachable { .. } => {
            anyhow::anyhow!("{e} (pass --no-prometheus to measure Elasticsearch only)")
        }
        other => other.into(),
    }
}

async fn prom_measured(p: &Prometheus, at: DateTime<Utc>) -> anyhow::Result<PromMeasured> {
    let scalar =
        |expr: &'static str| async move { p.query(expr, at).await.map(sum).map_err(prom_hint) };
    let tsdb = p.status("tsdb").await.map_err(prom_hint)?;
    let config = p.status("config").await.map_err(prom_hint)?;
    let head_series = match scalar("sum(prometheus_tsdb_head_series)").await? {
        Some(v) => Some(v.round() as u64),
        None => tsdb["headStats"]["numSeries"].as_u64(),
    };
    let by_route = p
        .query(r#"count by (http_route) ({http_route!=""})"#, at)
        .await
        .map_err(prom_hint)?;
    let mut series_by_route: Vec<(String, u64)> = by_route
        .into_series()
        .into_iter()
        .filter_map(|s| {
            let route = s.labels.get("http_route")?.clone();
            Some((route, s.samples.last()?.v.round() as u64))
        })
        .collect();
    series_by_route.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let config_yaml = config["yaml"].as_str().unwrap_or_default();
    let scrape_interval_seconds = match global_scrape_interval(config_yaml) {
        Some(text) => Some(parse_prom_duration(text).with_context(|| {
            format!("Prometheus's global scrape_interval {text:?} does not parse")
        })?),
        // Prometheus's own default.
        None => Some(60.0),
    };
    let (wal_bytes, wal_from_pages) =
        match scalar("sum(prometheus_tsdb_wal_storage_size_bytes)").await? {
            Some(bytes) => (Some(bytes), false),
            None => match scalar("sum(prometheus_tsdb_wal_completed_pages_total)").await? {
                Some(pages) => (Some(pages * WAL_PAGE_BYTES), true),
                None => (None, false),
            },
        };
    Ok(PromMeasured {
        head_series,
        series_by_route,
        series_by_metric: top_metrics(&tsdb),
        blocks_bytes: scalar("sum(prometheus_tsdb_storage_blocks_bytes)").await?,
        wal_bytes,
        samples_appended: scalar("sum(prometheus_tsdb_head_samples_appended_total)").await?,
        scrape_interval_seconds,
        wal_from_pages,
    })
}

/// `seriesCountByMetricName` of /api/v1/status/tsdb, largest first.
pub fn top_metrics(tsdb: &Value) -> Vec<(String, u64)> {
    let mut top: Vec<(String, u64)> = tsdb["seriesCountByMetricName"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| Some((r["name"].as_str()?.to_owned(), r["value"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(TOP_METRICS);
    top
}

/// The `scrape_interval` of the `global:` section of Prometheus's config YAML
/// (as /api/v1/status/config returns it: two-space indents, defaults filled in).
pub fn global_scrape_interval(yaml: &str) -> Option<&str> {
    let mut in_global = false;
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_global = line.trim_end() == "global:";
            continue;
        }
        if in_global {
            let trimmed = line.trim();
            if line.starts_with("  ") && !line.starts_with("   ") {
                if let Some(value) = trimmed.strip_prefix("scrape_interval:") {
                    return Some(value.trim().trim_matches(|c| c == '"' || c == '\''));
                }
            }
        }
    }
    None
}

/// A Prometheus duration (`15s`, `1m30s`, `500ms`, `1h`) in seconds.
pub fn parse_prom_duration(text: &str) -> anyhow::Result<f64> {
    let mut total = 0.0;
    let mut rest = text.trim();
    if rest.is_empty() {
        bail!("empty duration");
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            bail!("{text:?}: expected a number");
        }
        let n: f64 = rest[..digits].parse()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            other => bail!("{text:?}: unknown unit {other:?}"),
        };
        total += n * seconds;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_durations() {
        for (text, seconds) in [("5s", 5.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0)] {
            assert_eq!(parse_prom_duration(text).expect(text), seconds, "{text}");
        }
        for bad in ["", "5", "s", "5x"] {
            assert!(parse_prom_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_global_scrape_interval_not_a_jobs() {
        let yaml = "global:\n  scrape_interval: 5s\n  scrape_timeout: 5s\n  external_labels:\n    stack: x\nscrape_configs:\n- job_name: a\n  scrape_interval: 30s\n";
        assert_eq!(global_scrape_interval(yaml), Some("5s"));
        assert_eq!(
            global_scrape_interval("scrape_configs:\n- job_name: a\n  scrape_interval: 30s\n"),
            None
        );
    }

    #[test]
    fn index_stats_sum_primaries() {
        let answer = json!({"indices": {
            "logs-alertingscout-2026.12.01": {"primaries": {"docs": {"count": 10}, "store": {"size_in_bytes": 1000}}},
            "logs-alertingscout-2026.12.02": {"primaries": {"docs": {"count": 5}, "store": {"size_in_bytes": 500}}},
        }});
        assert_eq!(
            parse_index_stats(&answer).expect("parses"),
            IndexStats {
                indices: 2,
                docs: 15,
                store_bytes: 1500
            }
        );
        assert_eq!(
            parse_index_stats(&json!({"_all": {}})).expect("none"),
            IndexStats::default()
        );
        assert!(parse_index_stats(&json!({"indices": {"x": {"primaries": {}}}})).is_err());
    }

    #[test]
    fn documents_without_index_stats_mean_no_monitor_privilege() {
        let err = stats_visible("logs-x-*", &IndexStats::default(), 3).expect_err("no monitor");
        assert!(err.to_string().contains("`monitor`"), "{err}");
        assert!(stats_visible("logs-x-*", &IndexStats::default(), 0).is_ok());
        let stats = IndexStats {
            indices: 1,
            docs: 3,
            store_bytes: 10,
        };
        assert!(stats_visible("logs-x-*", &stats, 3).is_ok());
    }

    #[test]
    fn window_counts_and_levels() {
        let logs = json!({"hits": {"total": {"value": 7}}, "aggregations": {
            "levels": {"buckets": [{"key": "INFO", "doc_count": 5}, {"key": "ERROR", "doc_count": 2}]},
            "health": {"doc_count": 3}}});
        let spans = json!({"hits": {"total": {"value": 11}}});
        let w = parse_window(&logs, &spans).expect("parses");
        assert_eq!(w.log_docs, 7);
        assert_eq!(w.span_docs, 11);
        assert_eq!(w.health_docs, 3);
        assert_eq!(
            w.levels,
            vec![("INFO".to_owned(), 5), ("ERROR".to_owned(), 2)]
        );
        assert!(parse_window(&json!({}), &spans).is_err());
    }

    #[test]
    fn top_ten_metrics_largest_first() {
        let rows: Vec<Value> = (0..12)
            .map(|i| json!({"name": format!("m{i:02}"), "value": i}))
            .collect();
        let top = top_metrics(&json!({"seriesCountByMetricName": rows}));
        assert_eq!(top.len(), 10);
        assert_eq!(top[0], ("m11".to_owned(), 11));
        assert_eq!(top[9], ("m02".to_owned(), 2));
    }
}
