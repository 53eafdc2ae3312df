//! The log API's figures on the real Elasticsearch (`cargo xtask up` first):
//! bulk-loads LOGS_BENCH_DOCS synthetic records (default 1,000,000) into its
//! own index, runs the log API in-process on a free port, and prints the
//! latency of queries by request_id (p50, p99) and the throughput of a
//! 100,000-record export, with the load average. The index is deleted after.
//!
//!     nice -n 10 cargo run --release -p oncall --example logs_bench

use std::sync::Arc;
use std::time::{Duration, Instant};

use oncall::elasticsearch::Elasticsearch;
use oncall::logs::api::{router, LogApi};
use oncall::logs::audit::AuditTrail;
use oncall::operators::{self, Operators, Role};
use serde_json::json;

const ES: &str = "http://127.0.0.1:9200";
const SLICE: u64 = 100_000;
const QUERIES: usize = 300;
const BATCH: u64 = 10_000;

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let docs: u64 = std::env::var("LOGS_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let id = format!("oncallbench-{}", std::process::id());
    let index = format!("logs-{id}");
    let audit_index = format!("{id}-audit");
    // Elasticsearch has security on: the bench loads, queries and cleans up as
    // elastic-admin (its password from .stack/secrets, as the tests read it).
    let admin = testkit::elastic::credentials(testkit::elastic::ADMIN);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        admin.authorization().parse()?,
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()?;
    let result = run(&http, docs, &index, &audit_index, &admin).await;
    // The audit trail is daily: `<prefix>-YYYY.MM.DD`.
    for i in [index.clone(), format!("{audit_index}-*")] {
        let _ = http.delete(format!("{ES}/{i}")).send().await;
    }
    result
}

async fn run(
    http: &reqwest::Client,
    docs: u64,
    index: &str,
    audit_index: &str,
    admin: &testkit::elastic::Credentials,
) -> anyhow::Result<()> {
    // Load: 1 ms apart, one request id each, the `logs-*` template's mapping.
    http.put(format!("{ES}/{index}"))
        .json(&json!({"settings": {"refresh_interval": "-1"}}))
        .send()
        .await?
        .error_for_status()?;
    let t0 = chrono::Utc::now() - chrono::Duration::days(1);
    let started = Instant::now();
    let mut i = 0;
    while i < docs {
        let mut body = String::with_capacity(BATCH as usize * 300);
        for n in i..(i + BATCH).min(docs) {
            body.push_str("{\"create\":{}}\n");
            body.push_str(
                &json!({
                    "@timestamp": (t0 + chrono::Duration::milliseconds(n as i64)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "message": "request completed", "log.level": if n % 50 == 0 { "ERROR" } else { "INFO" },
                    "request_id": format!("bench-{n}"), "trace.id": format!("{n:032x}"),
                    "http.route": "/projects/{project_id}/todos", "http.request.method": "GET",
                    "http.response.status_code": if n % 50 == 0 { 500 } else { 200 },
                    "project.id": (n % 1000).to_string(), "service.name": "alertingscout",
                    "url.path": format!("/projects/{}/todos", n % 1000), "duration_ms": 1.5
                })
                .to_string(),
            );
            body.push('\n');
        }
        let answer: serde_json::Value = http
            .post(format!("{ES}/{index}/_bulk"))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await?
            .json()
            .await?;
        anyhow::ensure!(answer["errors"] == false, "bulk errors");
        i += BATCH;
    }
    http.put(format!("{ES}/{index}/_settings"))
        .json(&json!({"index": {"refresh_interval": "1s"}}))
        .send()
        .await?;
    http.post(format!("{ES}/{index}/_refresh")).send().await?;
    let count: serde_json::Value = http
        .get(format!("{ES}/{index}/_count"))
        .send()
        .await?
        .json()
        .await?;
    eprintln!(
        "loaded {} records in {:.1} s",
        count["count"],
        started.elapsed().as_secs_f64()
    );

    // The API in-process, with its own operators file and audit index.
    let dir = tempfile::tempdir()?;
    let ops_file = dir.path().join("operators.toml");
    let mut ops = Operators::default();
    ops.upsert(
        "bench",
        Role::Oncall,
        "bench-token-0123456789abcdef0123456789",
    );
    operators::save(&ops_file, &ops)?;
    let es = Elasticsearch::new(ES.parse()?, Duration::from_secs(60))?
        .with_credentials(Some(admin.user.clone()), Some(admin.password.clone()));
    let api = Arc::new(LogApi {
        operators_file: ops_file,
        logs: es.clone(),
        logs_index: index.to_owned(),
        audit: AuditTrail {
            writer: es.clone(),
            reader: es,
            index: audit_index.to_owned(),
        },
    });
    api.audit.ensure_index().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/api/v1/logs", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router(api)).await });
    let get = |query: String| {
        http.get(format!("{base}?{query}"))
            .bearer_auth("bench-token-0123456789abcdef0123456789")
            .send()
    };

    // Latency by request_id: spread over the index, warmed once.
    get("request_id=bench-0".into()).await?.bytes().await?;
    let mut latencies = Vec::with_capacity(QUERIES);
    let step = docs / QUERIES as u64;
    for q in 0..QUERIES as u64 {
        let n = (q * step + q * 7919) % docs;
        let t = Instant::now();
        let r = get(format!("request_id=bench-{n}")).await?;
        anyhow::ensure!(r.status().is_success(), "query {}", r.status());
        let body = r.bytes().await?;
        latencies.push(t.elapsed());
        anyhow::ensure!(
            body.iter().filter(|b| **b == b'\n').count() == 1,
            "one record for bench-{n}"
        );
    }
    latencies.sort();
    let load_q = load_average();

    // Export: a 100,000-record time slice from the middle.
    let start = docs.saturating_sub(SLICE) / 2;
    let from = (t0 + chrono::Duration::milliseconds(start as i64))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let to = (t0 + chrono::Duration::milliseconds((start + SLICE - 1) as i64))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let t = Instant::now();
    let body = get(format!("from={from}&to={to}")).await?.bytes().await?;
    let export = t.elapsed();
    let records = body.iter().filter(|b| **b == b'\n').count();
    let load_e = load_average();
    anyhow::ensure!(records as u64 == SLICE.min(docs), "exported {records}");

    println!("index: {docs} log records ({index}), 2 shared cores");
    println!(
        "query by request_id ({QUERIES} queries, audit record included): p50 {:.1} ms, p99 {:.1} ms (load average {load_q})",
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
    );
    println!(
        "export of {records} records (time slice, NDJSON, {:.1} MB): {:.2} s, {:.0} records/s (load average {load_e})",
        body.len() as f64 / 1e6,
        export.as_secs_f64(),
        records as f64 / export.as_secs_f64()
    );
    Ok(())
}
