//! The log API against the real Elasticsearch (`cargo xtask up` first): this
//! test indexes its own records (over 10,000 under one request id, in its own
//! `logs-alertingscout-oncalltest-*` index, which the stack's template maps), runs
//! the real `oncall serve` with an operators file of its own and the stack's
//! least-privileged Elasticsearch users (oncall-reader, oncall-audit-writer:
//! their index patterns cover the test's indices), and drives it with the real
//! `oncall logs` / `oncall audit`. Fixtures are written and deleted as
//! elastic-admin. Its indices are deleted at the end.
#![cfg(feature = "stack-tests")]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{json, Value};
use testkit::process::Spawned;

mod common;
use common::{audit_days, serve_command, sha256_hex, Cleanup, Es};

const BULK: usize = 10_500;
const PII_KEY: &str = "oncall-test-pseudonym-key-0123456789";

struct Run {
    id: String,
    logs_index: String,
    audit_index: String,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Run {
    /// The run's indices (its logs, its daily audit indices).
    fn indices(&self) -> Vec<String> {
        let mut indices = vec![self.logs_index.clone()];
        indices.extend(audit_days(&self.audit_index));
        indices.extend(audit_days(&format!("{}-closed", self.audit_index)));
        indices
    }

    fn operators(&self) -> std::path::PathBuf {
        self.dir.path().join("operators.toml")
    }

    fn serve(&self, extra: &[(&str, &str)]) -> Spawned {
        let mut command = serve_command(self.dir.path());
        command
            .env("ONCALL_LOGS_INDEX", &self.logs_index)
            .env("ONCALL_AUDIT_INDEX", &self.audit_index);
        for (k, v) in extra {
            command.env(k, v);
        }
        Spawned::start(command, "oncall listening on ", Duration::from_secs(20))
    }

    /// Runs `oncall <args>` against `server` with `token`.
    fn client(&self, server: &Spawned, token: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_oncall"))
            .args(args)
            .env("ONCALL_URL", &server.address)
            .env("ONCALL_TOKEN", token)
            .env("ALERTINGSCOUT_PII_KEY", PII_KEY)
            .output()
            .expect("oncall runs")
    }

    /// Every audit record, oldest first (refreshed first).
    /// Every audit record of the run, oldest first.
    async fn audit_records(&self) -> Vec<Value> {
        Es::admin().audit_records(&self.audit_index).await
    }
}

fn ok_stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "oncall failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf8")
}

fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record a line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_api_is_authenticated_role_checked_filtered_and_audited() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let id = format!("oncalltest-{}-{nanos}", std::process::id());
    let run = Run {
        logs_index: format!("logs-alertingscout-{id}"),
        audit_index: format!("alertingscout-audit-{id}"),
        id,
        dir: tempfile::tempdir().expect("tempdir"),
        http: reqwest::Client::new(),
    };
    // The run's names are its own (pid and nanoseconds): nothing to clear first.
    let _cleanup = Cleanup {
        indices: run.indices(),
    };

    // Operators: alice reads logs, audrey also reads the audit trail.
    let mut ops = oncall::operators::Operators::default();
    ops.upsert("alice", oncall::operators::Role::Oncall, "alice-token");
    ops.upsert("audrey", oncall::operators::Role::Auditor, "audrey-token");
    oncall::operators::save(&run.operators(), &ops).expect("operators file");

    // The records: BULK under one request id, and three distinct ones.
    let t0 = chrono::Utc::now() - chrono::Duration::hours(1);
    let ts =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let bulk_id = format!("{}-bulk", run.id);
    let special = format!("{}-special", run.id);
    let alice_pseudonym =
        oncall::logs::pseudonym::pseudonym(PII_KEY.as_bytes(), "alice@example.com");
    let mut body = String::new();
    for i in 0..BULK {
        body.push_str("{\"create\":{}}\n");
        body.push_str(&json!({
            "@timestamp": ts(t0 + chrono::Duration::milliseconds(i as i64)),
            "message": format!("bulk {i}"), "log.level": "INFO", "request_id": bulk_id,
            "http.route": "/bulk", "http.response.status_code": 200, "service.name": "alertingscout"
        }).to_string());
        body.push('\n');
    }
    let specials = [
        (
            10,
            "ERROR",
            "/projects/{project_id}",
            500,
            "7",
            alice_pseudonym.clone(),
            "boom, \"quoted\"",
        ),
        (
            20,
            "INFO",
            "/projects",
            201,
            "8",
            "u_00000000000000000000000000000000".to_owned(),
            "created",
        ),
        (
            30,
            "WARN",
            "/projects/{project_id}/todos",
            404,
            "7",
            "u_11111111111111111111111111111111".to_owned(),
            "missing",
        ),
    ];
    for (mins, level, route, status, project, user, message) in &specials {
        body.push_str("{\"create\":{}}\n");
        body.push_str(
            &json!({
                "@timestamp": ts(t0 - chrono::Duration::minutes(*mins)),
                "message": message, "log.level": level, "request_id": special, "http.route": route,
                "http.response.status_code": status, "project.id": project, "user.id": user,
                "trace.id": format!("trace-{mins}"), "service.name": "alertingscout"
            })
            .to_string(),
        );
        body.push('\n');
    }
    let (_, answer) = Es::admin()
        .ndjson(
            reqwest::Method::POST,
            &format!("{}/_bulk?refresh=true", run.logs_index),
            body,
        )
        .await;
    assert_eq!(
        answer["errors"],
        false,
        "bulk: {}",
        &answer.to_string()[..500.min(answer.to_string().len())]
    );

    let server = run.serve(&[]);
    let mut expected_audits = 0;

    // 401 without a token or with an unknown one; 400 naming the field.
    let url = format!("{}/api/v1/logs?request_id={special}", server.address);
    let r = run.http.get(&url).send().await.expect("answer");
    assert_eq!(r.status(), 401);
    let r = run
        .http
        .get(&url)
        .bearer_auth("nope")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 401);
    let r = run
        .http
        .get(format!("{url}&level=loud"))
        .bearer_auth("alice-token")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.expect("json");
    assert_eq!(e["error"]["field"], "level", "{e}");
    // 403: alice may not read the audit trail.
    let r = run
        .http
        .get(format!("{}/api/v1/audit", server.address))
        .bearer_auth("alice-token")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 403);
    let out = run.client(&server, "alice-token", &["audit"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        run.audit_records().await.len(),
        0,
        "refused requests read nothing"
    );

    // Past the 10,000 window: every bulk record once, oldest first.
    let out = run.client(
        &server,
        "alice-token",
        &["logs", "--request-id", &bulk_id, "--format", "ndjson"],
    );
    let text = ok_stdout(&out);
    let records = ndjson(&text);
    expected_audits += 1;
    assert_eq!(records.len(), BULK);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["message"], format!("bulk {i}"), "in order, each once");
    }
    let audits = run.audit_records().await;
    assert_eq!(audits.len(), expected_audits);
    let last = &audits[expected_audits - 1];
    assert_eq!(last["operator"], "alice");
    assert_eq!(last["role"], "oncall");
    assert_eq!(last["action"], "logs.query");
    assert_eq!(last["hits"], BULK as u64);
    assert_eq!(
        last["sha256"],
        sha256_hex(text.as_bytes()),
        "the hash of exactly what was returned"
    );
    assert_eq!(last["filters"]["request_id"], bulk_id);

    // Filters, each audited once with its hit count and hash.
    let base = [
        "logs",
        "--request-id",
        special.as_str(),
        "--format",
        "ndjson",
    ];
    let from = ts(t0 - chrono::Duration::minutes(25));
    let to = ts(t0 - chrono::Duration::minutes(5));
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec![], vec!["boom, \"quoted\"", "created", "missing"]),
        (vec!["--level", "error"], vec!["boom, \"quoted\""]),
        (vec!["--route", "/projects"], vec!["created"]),
        (vec!["--status", "404"], vec!["missing"]),
        (vec!["--status", "5xx"], vec!["boom, \"quoted\""]),
        (
            vec!["--project-id", "7"],
            vec!["boom, \"quoted\"", "missing"],
        ),
        (
            vec!["--user-id", "alice@example.com"],
            vec!["boom, \"quoted\""],
        ),
        (
            vec!["--from", &from, "--to", &to],
            vec!["boom, \"quoted\"", "created"],
        ),
        (vec!["--trace-id", "trace-30"], vec!["missing"]),
    ];
    for (extra, want) in &cases {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra);
        let text = ok_stdout(&run.client(&server, "alice-token", &args));
        expected_audits += 1;
        let mut got: Vec<String> = ndjson(&text)
            .iter()
            .map(|r| r["message"].as_str().unwrap_or("").to_owned())
            .collect();
        got.sort();
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "filter {extra:?}");
        let audits = run.audit_records().await;
        assert_eq!(audits.len(), expected_audits, "one audit record per query");
        let last = &audits[expected_audits - 1];
        assert_eq!(last["hits"], want.len() as u64, "{extra:?}");
        assert_eq!(last["sha256"], sha256_hex(text.as_bytes()), "{extra:?}");
    }
    // The raw user id never reaches the server or the audit trail.
    let audits = run.audit_records().await;
    assert!(audits
        .iter()
        .any(|a| a["filters"]["user_id"] == alice_pseudonym.as_str()));
    assert!(!audits
        .iter()
        .any(|a| a.to_string().contains("alice@example.com")));

    // CSV: a header and one parsed row per record.
    let text = ok_stdout(&run.client(
        &server,
        "alice-token",
        &["logs", "--request-id", &special, "--format", "csv"],
    ));
    expected_audits += 1;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("header").clone();
    let msg = headers
        .iter()
        .position(|h| h == "message")
        .expect("message column");
    let mut messages: Vec<String> = reader
        .records()
        .map(|r| r.expect("row")[msg].to_owned())
        .collect();
    messages.sort();
    assert_eq!(messages, ["boom, \"quoted\"", "created", "missing"]);

    // The auditor reads the trail (which records that read too); it holds every query.
    let text = ok_stdout(&run.client(&server, "audrey-token", &["audit"]));
    let trail = ndjson(&text);
    assert_eq!(trail.len(), expected_audits);
    assert!(trail.iter().all(|r| r["operator"] == "alice"));
    expected_audits += 1;
    let audits = run.audit_records().await;
    assert_eq!(audits.len(), expected_audits);
    assert_eq!(audits[expected_audits - 1]["action"], "audit.read");
    assert_eq!(audits[expected_audits - 1]["operator"], "audrey");
    assert_eq!(
        audits[expected_audits - 1]["sha256"],
        sha256_hex(text.as_bytes())
    );
    drop(server);

    // No read without a trace: an unreachable audit Elasticsearch, or a closed
    // audit index, fails the query with the reason and returns no logs.
    // (The audit trail is daily: today's index of the prefix `closed` is closed.)
    let closed = format!("{}-closed", run.audit_index);
    for day in audit_days(&closed) {
        Es::admin().call(reqwest::Method::PUT, &day, None).await;
        Es::admin()
            .call(reqwest::Method::POST, &format!("{day}/_close"), None)
            .await;
    }
    for extra in [
        vec![("ONCALL_AUDIT_ELASTICSEARCH_URL", "http://127.0.0.1:9")],
        vec![("ONCALL_AUDIT_INDEX", closed.as_str())],
    ] {
        let server = run.serve(&extra);
        let out = run.client(
            &server,
            "alice-token",
            &["logs", "--request-id", &special, "--format", "ndjson"],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?}");
        assert!(
            out.stdout.is_empty(),
            "no logs without an audit record ({extra:?})"
        );
        assert!(
            stderr.contains("audit record could not be written"),
            "{stderr}"
        );
        let r = run
            .http
            .get(format!(
                "{}/api/v1/logs?request_id={special}",
                server.address
            ))
            .bearer_auth("alice-token")
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), 503);
        assert!(!r.text().await.unwrap_or_default().contains("boom"));
    }
    assert_eq!(run.audit_records().await.len(), expected_audits);
    assert!(Path::new(&run.operators()).exists());
}
