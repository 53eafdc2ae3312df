//! `oncall incident export` against the real Elasticsearch (ONCALL_ELASTICSEARCH_URL,
//! default the stack's http://127.0.0.1:9200) and Prometheus (ONCALL_PROMETHEUS_URL,
//! default the stack's :9090; off the stack its queries may fail or come back
//! empty, and the files must still be there and parse). The test indexes an
//! incident of its own (log records and spans of three requests, in its own
//! `logs-alertingscout-incidenttest-*` / `traces-alertingscout-incidenttest-*`
//! indices, which the stack's templates map), writes an outbox line for its alert,
//! runs the real `oncall serve` and `oncall incident export`, and checks every
//! file, the manifest's hashes, the one audit record per export, the refusals,
//! and that the same export twice gives the same logs.ndjson. It deletes its
//! indices at the end.
//!
//! Elasticsearch has security on: the test seeds and reads its fixtures as
//! elastic-admin, and the server runs with the stack's least-privileged
//! oncall-reader and oncall-audit-writer (their patterns cover the test's
//! indices), as on the stack (testkit::elastic).
#![cfg(feature = "stack-tests")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use testkit::process::Spawned;

mod common;
use common::{audit_days, prometheus_url, serve_command, sha256_hex, Cleanup, Es};

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

struct Run {
    logs_index: String,
    traces_index: String,
    audit_index: String,
    dir: tempfile::TempDir,
}

impl Run {
    fn serve(&self, extra: &[(&str, &str)]) -> Spawned {
        let mut command = serve_command(self.dir.path());
        command
            .env("ONCALL_LOGS_INDEX", &self.logs_index)
            .env("ONCALL_TRACES_INDEX", &self.traces_index)
            .env("ONCALL_AUDIT_INDEX", &self.audit_index)
            .env("ONCALL_PROMETHEUS_URL", prometheus_url());
        for (k, v) in extra {
            command.env(k, v);
        }
        Spawned::start(command, "oncall listening on ", Duration::from_secs(20))
    }

    fn export(&self, server: &Spawned, token: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_oncall"))
            .args(["incident", "export"])
            .args(args)
            .env("ONCALL_URL", &server.address)
            .env("ONCALL_TOKEN", token)
            .output()
            .expect("oncall runs")
    }

    fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "oncall incident export failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ndjson(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document a line"))
        .collect()
}

/// Every file under `dir`, by its path relative to it.
fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .expect("under dir")
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&path).expect("read")));
            }
        }
    }
    out.sort();
    out
}

const METRIC_FILES: [&str; 8] = [
    "metrics/request_rate.json",
    "metrics/error_share.json",
    "metrics/latency_p50.json",
    "metrics/latency_p95.json",
    "metrics/latency_p99.json",
    "metrics/request_rate.svg",
    "metrics/error_share.svg",
    "metrics/latency.svg",
];

/// Checks a written bundle against its manifest and the shapes of its files;
/// the manifest and the logs, spans as JSON.
fn check_bundle(
    files: &[(String, Vec<u8>)],
    operator: &str,
    prometheus_up: bool,
) -> (Value, Vec<Value>, Vec<Value>) {
    let get = |p: &str| {
        files
            .iter()
            .find(|(path, _)| path == p)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("{p} is missing from the bundle"))
    };
    let manifest: Value = serde_json::from_slice(&get("manifest.json")).expect("manifest parses");
    let mut listed: Vec<String> = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_owned())
        .collect();
    for entry in manifest["files"].as_array().expect("files") {
        let path = entry["path"].as_str().expect("path");
        let bytes = get(path);
        assert_eq!(entry["sha256"], sha256_hex(&bytes), "{path}'s hash");
        assert_eq!(entry["size"], bytes.len() as u64, "{path}'s size");
        assert!(!entry["query"].is_null(), "{path}'s query is recorded");
    }
    listed.push("manifest.json".into());
    listed.sort();
    let on_disk: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        listed, on_disk,
        "the manifest lists every file, nothing else"
    );
    let mut expected: Vec<&str> = vec![
        "manifest.json",
        "logs.ndjson",
        "spans.ndjson",
        "alerts.json",
        "report.md",
    ];
    expected.extend(METRIC_FILES);
    expected.sort();
    assert_eq!(on_disk, expected);
    assert_eq!(manifest["exported_by"]["operator"], operator);
    assert!(manifest["exported_at"].as_str().is_some());

    for p in &METRIC_FILES[..5] {
        let v: Value = serde_json::from_slice(&get(p)).expect("metrics JSON parses");
        match v["status"].as_str() {
            Some("success") => assert_eq!(v["data"]["resultType"], "matrix", "{p}"),
            // Only when Prometheus is away (off the stack).
            Some("error") if !prometheus_up => assert!(v["error"].as_str().is_some(), "{p}"),
            other => panic!("{p}: status {other:?}: {v}"),
        }
        let q = manifest["files"]
            .as_array()
            .and_then(|f| f.iter().find(|e| e["path"] == *p))
            .map(|e| e["query"]["query"].clone())
            .unwrap_or(Value::Null);
        assert!(
            q.as_str()
                .is_some_and(|q| q.contains("http_server_request_duration_seconds")),
            "{p}: {q}"
        );
    }
    for p in &METRIC_FILES[5..] {
        let svg = String::from_utf8(get(p)).expect("utf8");
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{p}"
        );
    }
    let alerts: Value = serde_json::from_slice(&get("alerts.json")).expect("alerts parse");
    let want = if prometheus_up { "success" } else { "error" };
    assert_eq!(alerts["prometheus"]["status"], want, "{alerts}");
    assert!(alerts["outbox"].is_array());
    let logs = ndjson(&get("logs.ndjson"));
    let spans = ndjson(&get("spans.ndjson"));
    assert_eq!(manifest["counts"]["logs"], logs.len() as u64);
    assert_eq!(manifest["counts"]["spans"], spans.len() as u64);
    (manifest, logs, spans)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_is_exported_whole_checked_audited_and_reproducible() {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let id = format!("incidenttest-{}-{nanos}", std::process::id());
    let es = Es::admin();
    let run = Run {
        logs_index: format!("logs-alertingscout-{id}"),
        traces_index: format!("traces-alertingscout-{id}"),
        audit_index: format!("alertingscout-audit-{id}"),
        dir: tempfile::tempdir().expect("tempdir"),
    };
    let mut indices = vec![run.logs_index.clone(), run.traces_index.clone()];
    indices.extend(audit_days(&run.audit_index));
    indices.extend(audit_days(&format!("{}-closed", run.audit_index)));
    let _cleanup = Cleanup { indices };

    let mut ops = oncall::operators::Operators::default();
    ops.upsert("alice", oncall::operators::Role::Oncall, "alice-token");
    ops.upsert("audrey", oncall::operators::Role::Auditor, "audrey-token");
    oncall::operators::save(&run.dir.path().join("operators.toml"), &ops).expect("operators file");

    // The incident: request A fails with a stack trace, B on the same route
    // succeeds, C on another route is noise. A's 12 middle records share one
    // timestamp, so only the tie-breaker orders them.
    let t0 = (Utc::now() - chrono::Duration::hours(1)).with_timezone(&Utc);
    let at = |ms: i64| ts(t0 + chrono::Duration::milliseconds(ms));
    let route = "/projects/{project_id}";
    let (a, b, c) = (format!("{id}-a"), format!("{id}-b"), format!("{id}-c"));
    let (ta, tb, tc) = (
        format!("{:032x}", nanos as u128 ^ 0xa),
        format!("{:032x}", nanos as u128 ^ 0xb),
        format!("{:032x}", nanos as u128 ^ 0xc),
    );
    let stack = "Error: database is locked\n    at alertingscout::db::get_project (src/db.rs:42)\n    at alertingscout::api::projects::get (src/api/projects.rs:88)";
    let mut logs = vec![json!({
        "@timestamp": at(0), "message": "loading project", "log.level": "INFO",
        "request_id": a, "trace.id": ta, "span.id": "a1", "service.name": "alertingscout"
    })];
    for i in 0..12 {
        logs.push(json!({
            "@timestamp": at(5), "message": format!("retry {i}"), "log.level": "WARN",
            "request_id": a, "trace.id": ta, "service.name": "alertingscout"
        }));
    }
    logs.push(json!({
        "@timestamp": at(10), "message": "query failed", "log.level": "ERROR",
        "request_id": a, "trace.id": ta, "error.type": "DatabaseError",
        "error.message": "database is locked", "error.stack_trace": stack, "service.name": "alertingscout"
    }));
    logs.push(json!({
        "@timestamp": at(11), "message": "request completed", "log.level": "ERROR",
        "request_id": a, "trace.id": ta, "http.route": route, "http.request.method": "GET",
        "http.response.status_code": 500, "duration_ms": 11.5, "service.name": "alertingscout"
    }));
    logs.push(json!({
        "@timestamp": at(60_000), "message": "request completed", "log.level": "INFO",
        "request_id": b, "trace.id": tb, "http.route": route, "http.request.method": "GET",
        "http.response.status_code": 200, "duration_ms": 2.0, "service.name": "alertingscout"
    }));
    logs.push(json!({
        "@timestamp": at(61_000), "message": "request completed", "log.level": "INFO",
        "request_id": c, "trace.id": tc, "http.route": "/health", "http.request.method": "GET",
        "http.response.status_code": 200, "duration_ms": 0.1, "service.name": "alertingscout"
    }));
    let spans = vec![
        json!({"@timestamp": at(0), "end_timestamp": at(11), "trace.id": ta, "span.id": "a1",
               "name": format!("GET {route}"), "span.kind": "Server", "status.code": "Error",
               "request_id": a, "http.route": route, "http.response.status_code": 500, "service.name": "alertingscout"}),
        json!({"@timestamp": at(1), "end_timestamp": at(9), "trace.id": ta, "span.id": "a2", "parent.id": "a1",
               "name": "SELECT projects", "span.kind": "Client", "service.name": "alertingscout"}),
        json!({"@timestamp": at(60_000), "end_timestamp": at(60_002), "trace.id": tb, "span.id": "b1",
               "name": format!("GET {route}"), "request_id": b, "http.route": route, "service.name": "alertingscout"}),
        json!({"@timestamp": at(61_000), "end_timestamp": at(61_001), "trace.id": tc, "span.id": "c1",
               "name": "GET /health", "request_id": c, "http.route": "/health", "service.name": "alertingscout"}),
    ];
    es.bulk(&run.logs_index, &logs).await;
    es.bulk(&run.traces_index, &spans).await;

    // The relay's outbox: the alert on the route, A as its example.
    let fingerprint = format!("{:016x}", nanos as u64);
    let line = json!({
        "status": "resolved", "alertname": "ApiHighErrorRate",
        "labels": {"alertname": "ApiHighErrorRate", "http_route": route, "severity": "page"},
        "annotations": {}, "starts_at": at(-30_000), "ends_at": at(120_000),
        "fingerprint": fingerprint, "examples": [{"request_id": a}],
        "delivered_to": ["outbox"], "failed": {}, "relayed_at": at(120_000)
    });
    std::fs::write(run.out("outbox.ndjson"), format!("{line}\n")).expect("outbox");

    let server = run.serve(&[]);
    let http = reqwest::Client::new();
    // Whether the metrics must have come: Prometheus answers now.
    let prometheus_up = http
        .get(format!("{}/api/v1/status/buildinfo", prometheus_url()))
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    eprintln!(
        "Prometheus at {} answers: {prometheus_up}",
        prometheus_url()
    );
    let url = |q: &str| format!("{}/api/v1/incident?{q}", server.address);

    // Refusals: no token or an unknown one (401), a bad selector (400 naming
    // the field), nothing found (404); none of them leaves an audit record.
    let r = http
        .get(url(&format!("request_id={a}")))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    let r = http
        .get(url(&format!("request_id={a}")))
        .bearer_auth("nope")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 401);
    for (q, field) in [
        ("", "selector"),
        ("request_id=x&trace_id=y", "selector"),
        ("route=%2Fa", "from"),
        (
            "route=a&from=2026-01-01T00:00:00Z&to=2026-01-01T01:00:00Z",
            "route",
        ),
        ("request_id=x&from=yesterday", "from"),
        ("requestid=x", "query"),
        ("alert_fingerprint=zz", "alert_fingerprint"),
    ] {
        let r = http
            .get(url(q))
            .bearer_auth("alice-token")
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), 400, "{q}");
        let e: Value = r.json().await.expect("a JSON error");
        assert_eq!(e["error"]["field"], field, "{q}: {e}");
    }
    let r = http
        .get(url(&format!("request_id={id}-nothing")))
        .bearer_auth("alice-token")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 404);
    let out = run.export(
        &server,
        "alice-token",
        &["--out", run.out("none").to_str().expect("path")],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("400") && stderr.contains("selector"),
        "{stderr}"
    );
    assert!(!run.out("none").exists());
    assert_eq!(
        es.audit_records(&run.audit_index).await.len(),
        0,
        "refusals read nothing"
    );

    // By request id: every record of A, in order; A's spans (its trace, the
    // database span included); nothing of B or C.
    let out1 = run.out("by-request");
    ok(&run.export(
        &server,
        "alice-token",
        &["--request-id", &a, "--out", out1.to_str().expect("path")],
    ));
    let files = files_in(&out1);
    let (manifest, got_logs, got_spans) = check_bundle(&files, "alice", prometheus_up);
    assert_eq!(manifest["exported_by"]["role"], "oncall");
    assert_eq!(manifest["selector"]["request_id"], a.as_str());
    assert_eq!(got_logs.len(), 15);
    assert!(got_logs.iter().all(|l| l["request_id"] == a.as_str()));
    assert_eq!(got_logs[0]["message"], "loading project");
    assert_eq!(got_logs[14]["http.response.status_code"], 500);
    let times: Vec<&str> = got_logs
        .iter()
        .map(|l| l["@timestamp"].as_str().unwrap_or(""))
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "oldest first");
    let mut seeded: Vec<String> = logs[..15].iter().map(Value::to_string).collect();
    let mut exported: Vec<String> = got_logs.iter().map(Value::to_string).collect();
    seeded.sort();
    exported.sort();
    assert_eq!(exported, seeded, "each stored record once, as stored");
    let span_ids: Vec<&str> = got_spans
        .iter()
        .map(|s| s["span.id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(span_ids, ["a1", "a2"]);
    let report =
        String::from_utf8(std::fs::read(out1.join("report.md")).expect("report")).expect("utf8");
    assert!(
        report.starts_with(&format!("# Incident: request_id {a}")),
        "{report}"
    );
    assert!(report.contains("## First error"));
    assert!(report.contains("database is locked"), "{report}");
    assert!(
        report.contains("at alertingscout::db::get_project (src/db.rs:42)"),
        "the stack trace: {report}"
    );
    assert!(report.contains("/d/alertingscout-api?"), "{report}");
    assert!(report.contains("app/discover"), "{report}");
    assert!(
        report.contains(&format!("oncall logs --request-id {a}")),
        "{report}"
    );
    assert!(report.contains("1 × 500"), "{report}");
    let alerts: Value =
        serde_json::from_slice(&std::fs::read(out1.join("alerts.json")).expect("alerts"))
            .expect("json");
    assert_eq!(
        alerts["outbox"][0]["fingerprint"],
        fingerprint.as_str(),
        "the alert of the window"
    );

    // Exactly one audit record: who, role, selector, counts, the manifest's hash.
    let audits = es.audit_records(&run.audit_index).await;
    assert_eq!(audits.len(), 1, "{audits:?}");
    let rec = &audits[0];
    assert_eq!(rec["operator"], "alice");
    assert_eq!(rec["role"], "oncall");
    assert_eq!(rec["action"], "incident.export");
    assert_eq!(rec["filters"]["request_id"], a.as_str());
    assert_eq!(rec["counts"]["logs"], 15);
    assert_eq!(rec["counts"]["spans"], 2);
    assert_eq!(rec["hits"], 17);
    let manifest_bytes = std::fs::read(out1.join("manifest.json")).expect("manifest");
    assert_eq!(
        rec["sha256"],
        sha256_hex(&manifest_bytes),
        "the audited manifest is the written one"
    );
    assert!(rec["@timestamp"].as_str().is_some());

    // Reproducible: the same export again gives the same logs and spans files.
    let out2 = run.out("by-request-again");
    ok(&run.export(
        &server,
        "alice-token",
        &["--request-id", &a, "--out", out2.to_str().expect("path")],
    ));
    for f in ["logs.ndjson", "spans.ndjson"] {
        assert_eq!(
            std::fs::read(out1.join(f)).expect("first"),
            std::fs::read(out2.join(f)).expect("second"),
            "{f} is byte for byte the same"
        );
    }
    // An existing, non-empty directory is never written over (refused before
    // the server is asked, so no export is spent on it).
    let out = run.export(
        &server,
        "alice-token",
        &["--request-id", &a, "--out", out2.to_str().expect("path")],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));

    // By trace id: the same request's records.
    let out3 = run.out("by-trace");
    ok(&run.export(
        &server,
        "alice-token",
        &["--trace-id", &ta, "--out", out3.to_str().expect("path")],
    ));
    let (_, t_logs, t_spans) = check_bundle(&files_in(&out3), "alice", prometheus_up);
    assert_eq!(t_logs.len(), 15);
    assert_eq!(t_spans.len(), 2);

    // By the alert's fingerprint, as an archive: the route's requests A and B
    // over the alert's window, not C.
    let archive = run.out("alert-bundle");
    ok(&run.export(
        &server,
        "alice-token",
        &[
            "--alert-fingerprint",
            &fingerprint,
            "--out",
            archive.to_str().expect("path"),
            "--archive",
        ],
    ));
    let gz = std::fs::read(run.out("alert-bundle.tar.gz")).expect("the .tar.gz is written");
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut tar)
        .expect("gunzip");
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for e in tar::Archive::new(tar.as_slice()).entries().expect("tar") {
        let mut e = e.expect("entry");
        let path = e.path().expect("path").to_string_lossy().into_owned();
        let rel = path
            .strip_prefix("alert-bundle/")
            .unwrap_or_else(|| panic!("{path} under alert-bundle/"))
            .to_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut bytes).expect("read");
        entries.push((rel, bytes));
    }
    entries.sort();
    let (manifest, a_logs, a_spans) = check_bundle(&entries, "alice", prometheus_up);
    assert_eq!(
        manifest["selector"]["alert_fingerprint"],
        fingerprint.as_str()
    );
    let ids: std::collections::BTreeSet<&str> = a_logs
        .iter()
        .filter_map(|l| l["request_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [a.as_str(), b.as_str()].into_iter().collect(),
        "the route's requests only"
    );
    assert_eq!(a_logs.len(), 16);
    let span_ids: Vec<&str> = a_spans
        .iter()
        .map(|s| s["span.id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(span_ids, ["a1", "a2", "b1"]);

    // By route and window, as an auditor (a role above oncall).
    let out4 = run.out("by-route");
    let (from, to) = (at(-1000), at(62_000));
    ok(&run.export(
        &server,
        "audrey-token",
        &[
            "--route",
            route,
            "--from",
            &from,
            "--to",
            &to,
            "--out",
            out4.to_str().expect("path"),
        ],
    ));
    let (manifest, r_logs, _) = check_bundle(&files_in(&out4), "audrey", prometheus_up);
    assert_eq!(manifest["exported_by"]["role"], "auditor");
    assert_eq!(manifest["selector"]["route"], route);
    assert_eq!(r_logs.len(), 16);

    // 403: every role may export by default (oncall is the lowest), so a role
    // below the required one exists only where the server asks for more: with
    // ONCALL_INCIDENT_ROLE=auditor, alice (oncall) is refused and nothing is
    // read or audited, audrey (auditor) still exports.
    let strict = run.serve(&[("ONCALL_INCIDENT_ROLE", "auditor")]);
    let r = http
        .get(format!("{}/api/v1/incident?request_id={a}", strict.address))
        .bearer_auth("alice-token")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.expect("a JSON error");
    assert_eq!(e["error"]["code"], "forbidden", "{e}");
    let out = run.export(
        &strict,
        "alice-token",
        &[
            "--request-id",
            &a,
            "--out",
            run.out("forbidden").to_str().expect("path"),
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!run.out("forbidden").exists());
    let out5 = run.out("by-auditor");
    ok(&run.export(
        &strict,
        "audrey-token",
        &["--request-id", &a, "--out", out5.to_str().expect("path")],
    ));
    drop(strict);

    let audits = es.audit_records(&run.audit_index).await;
    assert_eq!(
        audits.len(),
        6,
        "one audit record per export, none for the 403"
    );
    assert!(audits.iter().all(|r| r["action"] == "incident.export"));
    assert_eq!(audits[4]["operator"], "audrey");
    assert_eq!(audits[4]["role"], "auditor");
    assert_eq!(
        audits[4]["sha256"],
        sha256_hex(&std::fs::read(out4.join("manifest.json")).expect("manifest"))
    );
    drop(server);

    // No export without a trace: an unreachable audit Elasticsearch, or a
    // closed audit index, fails it (503) and writes nothing.
    let closed = format!("{}-closed", run.audit_index);
    for day in audit_days(&closed) {
        es.call(reqwest::Method::PUT, &day, None).await;
        es.call(reqwest::Method::POST, &format!("{day}/_close"), None)
            .await;
    }
    for extra in [
        vec![("ONCALL_AUDIT_ELASTICSEARCH_URL", "http://127.0.0.1:9")],
        vec![("ONCALL_AUDIT_INDEX", closed.as_str())],
    ] {
        let server = run.serve(&extra);
        let unaudited = run.out("unaudited");
        let out = run.export(
            &server,
            "alice-token",
            &[
                "--request-id",
                &a,
                "--out",
                unaudited.to_str().expect("path"),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?}");
        assert!(
            stderr.contains("503") && stderr.contains("audit record could not be written"),
            "{stderr}"
        );
        assert!(!unaudited.exists(), "no bundle without its audit record");
        let r = http
            .get(format!("{}/api/v1/incident?request_id={a}", server.address))
            .bearer_auth("alice-token")
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), 503);
        assert!(!r
            .text()
            .await
            .unwrap_or_default()
            .contains("database is locked"));
    }
    assert_eq!(es.audit_records(&run.audit_index).await.len(), 6);
}
