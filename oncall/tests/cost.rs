//! `oncall cost` against the real Elasticsearch (ONCALL_ELASTICSEARCH_URL,
//! default the stack's http://127.0.0.1:9200, security on: the test and the
//! command run as elastic-admin, which has the `monitor` and `read` the command
//! needs; testkit::elastic reads its password).
//! The test seeds its own daily indices under `logs-alertingscout-costtest-*`
//! and `traces-alertingscout-costtest-*` with documents in a window of 2020
//! (so no other test's window sees them) and some outside it, runs the real
//! binary with `--logs-index`/`--traces-index` and checks the counts and level
//! shares exactly and the bytes as positive. Prometheus: the stack's when it
//! answers (ONCALL_PROMETHEUS_URL, default :9090), figures checked for shape;
//! otherwise `--no-prometheus`. It deletes what it created.
#![cfg(feature = "stack-tests")]

use std::process::{Command, Output};

use serde_json::{json, Value};

mod common;
use common::{credentials, elastic, es_url, prometheus_url, Cleanup, Es};

fn oncall(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oncall"));
    command
        .arg("cost")
        .args(args)
        .env("OTEL_SDK_DISABLED", "true")
        .env("ONCALL_ELASTICSEARCH_URL", es_url())
        .env_remove("ONCALL_LOGS_INDEX")
        .env_remove("ONCALL_TRACES_INDEX")
        // Index stats need `monitor`: the command runs as elastic-admin.
        .envs(credentials(elastic::ADMIN).oncall_env(""));
    command.output().expect("oncall runs")
}

fn json_of(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "oncall cost failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// A number >= 0 (or null where the figure is unknown on this Prometheus).
fn non_negative_or_null(v: &Value, what: &str) {
    assert!(
        v.is_null() || v.as_f64().is_some_and(|n| n >= 0.0),
        "{what}: {v}"
    );
}

async fn prometheus_answers(url: &str) -> bool {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .expect("client");
    matches!(http.get(format!("{url}/-/ready")).send().await, Ok(r) if r.status().is_success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_counts_seeded_documents_exactly() {
    let es = Es::admin();
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let run = format!("{}-{nanos}", std::process::id());
    let logs_pattern = format!("logs-alertingscout-costtest-{run}-*");
    let traces_pattern = format!("traces-alertingscout-costtest-{run}-*");
    let logs_day1 = format!("logs-alertingscout-costtest-{run}-2020.01.01");
    let logs_day2 = format!("logs-alertingscout-costtest-{run}-2020.01.02");
    let traces_day1 = format!("traces-alertingscout-costtest-{run}-2020.01.01");
    let traces_day2 = format!("traces-alertingscout-costtest-{run}-2020.01.02");
    let _cleanup = Cleanup {
        indices: vec![
            logs_day1.clone(),
            logs_day2.clone(),
            traces_day1.clone(),
            traces_day2.clone(),
        ],
    };

    // In the window (2020-01-01T00:00Z..01:00Z): 10 logs (6 INFO of which 3
    // on /health, 3 WARN, 1 ERROR) and 12 spans. Outside it, in the same
    // indices or the next day's: 4 logs and 3 spans.
    let mut logs = Vec::new();
    for i in 0..10 {
        let (level, route) = match i {
            0..=2 => ("INFO", "/health"),
            3..=5 => ("INFO", "/projects/{project_id}"),
            6..=8 => ("WARN", "/projects/{project_id}/todos"),
            _ => ("ERROR", "/projects/{project_id}/todos"),
        };
        logs.push((
            logs_day1.as_str(),
            json!({"@timestamp": format!("2020-01-01T00:{:02}:00Z", i * 5), "log.level": level,
                   "http.route": route, "message": format!("cost test record {i}"), "request_id": format!("req-{i}")}),
        ));
    }
    logs.push((
        logs_day1.as_str(),
        json!({"@timestamp": "2020-01-01T01:00:00Z", "log.level": "INFO", "http.route": "/health", "message": "at the window's end: out"}),
    ));
    for i in 0..3 {
        logs.push((
            logs_day2.as_str(),
            json!({"@timestamp": format!("2020-01-02T00:0{i}:00Z"), "log.level": "DEBUG", "message": "next day"}),
        ));
    }
    let mut spans = Vec::new();
    for i in 0..15 {
        let (index, ts) = if i < 12 {
            (
                traces_day1.as_str(),
                format!("2020-01-01T00:{:02}:00Z", i * 4),
            )
        } else {
            (
                traces_day2.as_str(),
                format!("2020-01-02T00:0{i}:00Z", i = i - 12),
            )
        };
        spans.push((
            index,
            json!({"@timestamp": ts, "trace.id": format!("{i:032x}"), "span.id": format!("{i:016x}"), "name": "GET /projects/{project_id}"}),
        ));
    }
    let mut bulk = String::new();
    for (index, doc) in logs.iter().chain(spans.iter()) {
        bulk.push_str(&json!({"create": {"_index": index}}).to_string());
        bulk.push('\n');
        bulk.push_str(&doc.to_string());
        bulk.push('\n');
    }
    let (status, answer) = es
        .ndjson(reqwest::Method::POST, "_bulk?refresh=true", bulk)
        .await;
    assert_eq!(status, 200, "bulk: {answer}");
    assert_eq!(answer["errors"], json!(false), "bulk: {answer}");

    let prom = prometheus_url();
    let with_prometheus = prometheus_answers(&prom).await;
    eprintln!(
        "Prometheus at {prom}: {}",
        if with_prometheus {
            "answers, used"
        } else {
            "absent, --no-prometheus"
        }
    );
    let mut args = vec![
        "--from",
        "2020-01-01T00:00:00Z",
        "--to",
        "2020-01-01T01:00:00Z",
        "--logs-index",
        &logs_pattern,
        "--traces-index",
        &traces_pattern,
        "--format",
        "json",
        "--prometheus-url",
        &prom,
    ];
    if !with_prometheus {
        args.push("--no-prometheus");
    }
    let out = oncall(&args);
    let r = json_of(&out);
    eprintln!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());

    assert_eq!(r["window"]["seconds"], json!(3600.0));
    let es_report = &r["elasticsearch"];
    let logs_r = &es_report["logs"];
    let traces_r = &es_report["traces"];
    assert_eq!(logs_r["index_pattern"], json!(logs_pattern));
    assert_eq!(logs_r["indices"], json!(2));
    assert_eq!(logs_r["index_docs"], json!(14));
    assert_eq!(logs_r["window_docs"], json!(10));
    assert_eq!(traces_r["indices"], json!(2));
    assert_eq!(traces_r["index_docs"], json!(15));
    assert_eq!(traces_r["window_docs"], json!(12));
    for (what, v) in [
        ("logs store bytes", &logs_r["index_store_bytes"]),
        ("logs bytes/doc", &logs_r["bytes_per_doc"]),
        ("logs window bytes", &logs_r["window_bytes"]),
        ("traces store bytes", &traces_r["index_store_bytes"]),
        ("traces bytes/doc", &traces_r["bytes_per_doc"]),
        ("traces window bytes", &traces_r["window_bytes"]),
    ] {
        assert!(v.as_f64().is_some_and(|b| b > 0.0), "{what}: {v}");
    }
    // bytes/doc is the whole indices' store over their documents (up to the
    // last digit: serde_json's default float parsing does not round-trip exactly).
    let bpd = logs_r["index_store_bytes"].as_f64().unwrap_or(0.0) / 14.0;
    let got = logs_r["bytes_per_doc"].as_f64().unwrap_or(f64::NAN);
    assert!(
        (got - bpd).abs() <= 1e-9 * bpd,
        "logs bytes/doc {got} != {bpd}"
    );

    let levels: Vec<(String, u64, f64)> = es_report["log_levels"]
        .as_array()
        .expect("log_levels")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["docs"].as_u64().unwrap_or(u64::MAX),
                s["share"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    assert_eq!(
        levels,
        vec![
            ("INFO".to_owned(), 6, 0.6),
            ("WARN".to_owned(), 3, 0.3),
            ("ERROR".to_owned(), 1, 0.1)
        ]
    );
    let health = &es_report["health_access_log"];
    assert_eq!(health["name"], json!("/health"));
    assert_eq!(health["docs"], json!(3));
    assert_eq!(health["share"], json!(0.3));

    if with_prometheus {
        non_negative_or_null(&r["requests"], "requests");
        assert!(r["requests"].is_number(), "requests: {}", r["requests"]);
        let p = &r["prometheus"];
        for key in [
            "head_series",
            "blocks_bytes",
            "wal_bytes",
            "samples_appended",
            "bytes_per_sample",
            "scrape_interval_seconds",
            "samples_per_day",
            "mb_per_day",
        ] {
            non_negative_or_null(&p[key], key);
        }
        assert!(p["head_series"].as_u64().is_some_and(|n| n > 0), "{p}");
        assert!(p["series_by_metric"]
            .as_array()
            .is_some_and(|m| !m.is_empty() && m.len() <= 10));
        assert!(p["series_by_route"].is_array());

        // Now, with the stack's requests: the forecast, when there were any.
        let now = oncall(&[
            "--since",
            "1h",
            "--logs-index",
            &logs_pattern,
            "--traces-index",
            &traces_pattern,
            "--format",
            "json",
            "--prometheus-url",
            &prom,
        ]);
        let now = json_of(&now);
        assert_eq!(now["elasticsearch"]["logs"]["window_docs"], json!(0));
        assert_eq!(now["elasticsearch"]["logs"]["index_docs"], json!(14));
        let requests = now["requests"].as_f64().unwrap_or(0.0);
        let forecast = now["forecast"].as_array().expect("forecast");
        if requests > 0.0 {
            let rates: Vec<f64> = forecast
                .iter()
                .filter_map(|f| f["requests_per_second"].as_f64())
                .collect();
            assert_eq!(rates, vec![10.0, 100.0, 1000.0]);
            for f in forecast {
                for key in [
                    "elasticsearch_mb_per_day",
                    "elasticsearch_mb_14d",
                    "total_mb_14d",
                ] {
                    non_negative_or_null(&f[key], key);
                }
                assert_eq!(
                    f["prometheus_mb_per_day"],
                    forecast[0]["prometheus_mb_per_day"]
                );
            }
        } else {
            assert!(forecast.is_empty());
        }
    } else {
        assert!(r["requests"].is_null());
        assert!(r["prometheus"].is_null());
        assert_eq!(r["forecast"], json!([]));
    }

    // The table prints the same counts.
    let mut table_args: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !["--format", "json", "--no-prometheus"].contains(a))
        .collect();
    table_args.push("--no-prometheus");
    let table = oncall(&table_args);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&table.stderr)
    );
    assert!(text.contains("INFO") && text.contains("60.0 %"), "{text}");
    assert!(
        text.contains("route /health") && text.contains("30.0 %"),
        "{text}"
    );
}

#[test]
fn an_unreachable_prometheus_fails_clearly_unless_no_prometheus() {
    let out = oncall(&[
        "--since",
        "5m",
        "--logs-index",
        "logs-alertingscout-costtest-none-*",
        "--traces-index",
        "traces-alertingscout-costtest-none-*",
        "--prometheus-url",
        "http://127.0.0.1:1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("Prometheus") && stderr.contains("--no-prometheus"),
        "{stderr}"
    );
}
