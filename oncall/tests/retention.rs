//! Retention against the real Elasticsearch (ONCALL_ELASTICSEARCH_URL, default
//! the stack's http://127.0.0.1:9200; no service or Collector needed): the test
//! creates back-dated empty daily logs, traces and audit indices (the audit
//! ones under a prefix of its own) and decoys, then runs the real `oncall retention run`
//! (dry run, a failed audit write, the run) and the schedule of `oncall serve`,
//! and checks that day 15 goes, day 14 stays, nothing else is touched, and each
//! deleting run left its audit record. It deletes what it created.
#![cfg(feature = "stack-tests")]

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate, Utc};
use serde_json::{json, Value};
use testkit::process::Spawned;

mod common;
use common::{credentials, elastic, es_url, serve_command, Cleanup, Es};

fn day(today: NaiveDate, back: u64) -> String {
    (today - Days::new(back)).format("%Y.%m.%d").to_string()
}

fn oncall(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oncall"));
    command.args(args).env("OTEL_SDK_DISABLED", "true");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("oncall runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn day_fifteen_goes_day_fourteen_stays_and_nothing_else_is_touched() {
    let url = es_url();
    let es = Es::admin();
    let now = Utc::now();
    let today = now.date_naive();
    let nanos = now.timestamp_nanos_opt().unwrap_or(0);
    let id = format!("retentiontest-{}-{nanos}", std::process::id());
    // Under the audit writer's pattern (alertingscout-audit-*), so the schedule's
    // least-privileged users can write its record.
    let audit = format!("alertingscout-audit-{id}");
    let closed = format!("{audit}-closed");

    let expired = [
        format!("logs-alertingscout-{}", day(today, 15)),
        format!("traces-alertingscout-{}", day(today, 15)),
        format!("{audit}-{}", day(today, 401)),
    ];
    let kept = [
        format!("logs-alertingscout-{}", day(today, 14)),
        format!("traces-alertingscout-{}", day(today, 14)),
        format!("logs-alertingscout-{}", day(today, 0)),
        format!("{audit}-{}", day(today, 400)),
        format!("{audit}-{}", day(today, 399)),
    ];
    let decoys = [
        "logs-alertingscout-bench".to_owned(),
        format!("logs-oncalltest-{}", day(today, 30)),
        format!("other-{}", day(today, 30)),
        format!("logs-alertingscout-{}-x", day(today, 30)),
        format!("{id}-logs-alertingscout-{}", day(today, 30)),
        format!("{audit}-bench"),
    ];
    let mut cleanup = Cleanup {
        // The runs' own records land in today's (past midnight, tomorrow's) audit index.
        indices: [0, 1]
            .iter()
            .flat_map(|ahead| {
                let d = (today + Days::new(*ahead)).format("%Y.%m.%d").to_string();
                [format!("{audit}-{d}"), format!("{closed}-{d}")]
            })
            .collect(),
    };
    // Day 15 must be created by the test (an existing one would go anyway); the
    // kept days and the decoys are deleted at the end only if the test made them.
    for index in &expired {
        es.create(index, None).await;
        cleanup.indices.push(index.clone());
    }
    for index in kept.iter().chain(&decoys) {
        if es.create(index, None).await {
            cleanup.indices.push(index.clone());
        }
    }
    let records_of = |records: &[Value], operator: &str| -> Vec<Value> {
        records
            .iter()
            .filter(|r| r["operator"] == operator)
            .cloned()
            .collect()
    };

    // `oncall retention run` is an administrator's command: elastic-admin deletes
    // (audit days too) and writes the record.
    let admin = credentials(elastic::ADMIN);
    let [(user_var, user), (password_var, password)] = admin.oncall_env("");
    let [(audit_user_var, audit_user), (audit_password_var, audit_password)] =
        admin.oncall_env("AUDIT_");
    let as_admin = [
        (user_var.as_str(), user.as_str()),
        (password_var.as_str(), password.as_str()),
        (audit_user_var.as_str(), audit_user.as_str()),
        (audit_password_var.as_str(), audit_password.as_str()),
    ];
    let env = [
        ("ONCALL_ELASTICSEARCH_URL", url.as_str()),
        ("ONCALL_AUDIT_INDEX", audit.as_str()),
        ("ONCALL_RETENTION_OPERATOR", "retention-test"),
        as_admin[0],
        as_admin[1],
        as_admin[2],
        as_admin[3],
    ];

    // Dry run: lists day 15 and the 401-day audit index, deletes and audits nothing.
    let out = oncall(&["retention", "run", "--dry-run"], &env);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for index in &expired {
        assert!(
            stdout.contains(&format!("would delete index {index}\n")),
            "{stdout}"
        );
    }
    for index in kept.iter().chain(&decoys) {
        assert!(!stdout.contains(index.as_str()), "{index} listed: {stdout}");
    }
    for index in expired.iter().chain(&kept).chain(&decoys) {
        assert!(es.exists(index).await, "{index} deleted by a dry run");
    }
    assert!(
        es.audit_records(&audit).await.is_empty(),
        "a dry run is not audited"
    );

    // No deletion without a trace: a closed audit index (today's) fails the run first.
    let closed_today = format!("{closed}-{}", day(today, 0));
    assert!(es.create(&closed_today, None).await);
    es.call(
        reqwest::Method::POST,
        &format!("{closed_today}/_close"),
        None,
    )
    .await;
    let out = oncall(
        &["retention", "run"],
        &[
            ("ONCALL_ELASTICSEARCH_URL", url.as_str()),
            ("ONCALL_AUDIT_INDEX", closed.as_str()),
            as_admin[0],
            as_admin[1],
            as_admin[2],
            as_admin[3],
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("nothing was deleted"), "{stderr}");
    for index in &expired {
        assert!(
            es.exists(index).await,
            "{index} deleted without an audit record"
        );
    }

    // The run: day 15 and audit day 401 go; day 14, today, audit days 400 and
    // 399 and the decoys stay; one audit record.
    let out = oncall(&["retention", "run"], &env);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for index in &expired {
        assert!(
            stdout.contains(&format!("deleted index {index}\n")),
            "{stdout}"
        );
        assert!(!es.exists(index).await, "{index} still there");
    }
    for index in kept.iter().chain(&decoys) {
        assert!(es.exists(index).await, "{index} was deleted");
    }
    let records = es.audit_records(&audit).await;
    let ran = records_of(&records, "retention-test");
    assert_eq!(ran.len(), 1, "one record per run: {records:?}");
    let record = &ran[0];
    assert_eq!(record["action"], "retention.delete");
    assert_eq!(record["role"], "admin");
    let listed: Vec<&str> = record["filters"]["indices"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for index in &expired {
        assert!(listed.contains(&index.as_str()), "{record}");
    }
    assert_eq!(record["hits"], listed.len(), "{record}");
    assert_eq!(record["filters"]["retention_days"], 14, "{record}");
    assert_eq!(record["filters"]["audit_retention_days"], 400, "{record}");

    // The schedule of `oncall serve` (every second here) does the same, as oncall-serve.
    let again = &expired[0];
    assert!(es.create(again, None).await);
    let dir = tempfile::tempdir().expect("tempdir");
    // The stack's users: retention lists and deletes, the audit writer appends.
    let mut command = serve_command(dir.path());
    command
        .env("ONCALL_AUDIT_INDEX", &audit)
        .env("ONCALL_RETENTION_INTERVAL", "1s");
    let mut server = Spawned::start(command, "oncall listening on ", Duration::from_secs(20));
    let start = Instant::now();
    while es.exists(again).await {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "oncall serve did not delete {again} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    server.terminate(Duration::from_secs(10));
    for index in kept.iter().chain(&decoys) {
        assert!(
            es.exists(index).await,
            "{index} was deleted by the schedule"
        );
    }
    let records = es.audit_records(&audit).await;
    let scheduled = records_of(&records, "oncall-serve");
    assert_eq!(
        scheduled.len(),
        1,
        "one record per deleting run: {records:?}"
    );
    assert_eq!(scheduled[0]["action"], "retention.delete");
    assert_eq!(scheduled[0]["filters"]["indices"], json!([again]));
    drop(cleanup);
}
