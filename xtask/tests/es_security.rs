//! Elasticsearch security on the running stack (`cargo xtask up` first): anonymous
//! requests are refused, and each file-realm user of elastic/users.txt can do what
//! its job needs and nothing more (docs/security.md, "Elasticsearch"). The test
//! indices match the users' patterns but never a daily name, so retention and the
//! other tests never see them; elastic-admin removes them at the end.

mod common;

use std::time::Duration;

use serde_json::{json, Value};

use common::{call, es_auth, es_search, term, unique, wait_for, ADMIN};
use xtask::ports::{self, url};
use xtask::secrets::es_users::{
    COLLECTOR_WRITER, GRAFANA_READER, ONCALL_AUDIT_WRITER, ONCALL_READER, ONCALL_RETENTION,
};

/// One request as `user` (None: anonymous): its status and JSON body.
fn es(user: Option<&str>, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let uri = format!("{}{path}", url(ports::ELASTICSEARCH));
    let content_type = if path.contains("_bulk") {
        "application/x-ndjson"
    } else {
        "application/json"
    };
    let auth = user.map(es_auth);
    let result = match (method, body) {
        ("GET", _) | ("DELETE", _) | ("HEAD", _) => {
            let mut r = match method {
                "GET" => agent.get(&uri),
                "DELETE" => agent.delete(&uri),
                _ => agent.head(&uri),
            };
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        (_, body) => {
            let mut r = match method {
                "PUT" => agent.put(&uri),
                _ => agent.post(&uri),
            };
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.header("Content-Type", content_type)
                .send(body.unwrap_or("{}"))
        }
    };
    let mut resp = result.unwrap_or_else(|e| panic!("{method} {uri}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn doc(rid: &str) -> String {
    json!({"@timestamp": chrono::Utc::now().to_rfc3339(), "message": "security probe", "request_id": rid})
        .to_string()
}

/// `_bulk` create of one document into `index` as `user`: the item's status (or
/// the request's, when the whole request is refused).
fn bulk_create(user: &str, index: &str, rid: &str) -> u16 {
    let body = format!("{}\n{}\n", json!({"create": {"_index": index}}), doc(rid));
    let (status, v) = es(Some(user), "POST", "/_bulk?refresh=true", Some(&body));
    if status != 200 {
        return status;
    }
    v["items"][0]["create"]["status"].as_u64().unwrap_or(0) as u16
}

fn search_status(user: &str, pattern: &str) -> u16 {
    es(
        Some(user),
        "POST",
        &format!("/{pattern}/_search"),
        Some(r#"{"size":1}"#),
    )
    .0
}

struct Indices {
    logs: String,
    traces: String,
    audit: String,
}

impl Drop for Indices {
    fn drop(&mut self) {
        for index in [&self.logs, &self.traces, &self.audit] {
            let _ = es(
                Some(ADMIN),
                "DELETE",
                &format!("/{index}?ignore_unavailable=true"),
                None,
            );
        }
    }
}

#[test]
fn anonymous_requests_and_wrong_passwords_are_refused() {
    common::require_stack();
    for path in [
        "/_cluster/health",
        "/logs-alertingscout-*/_search",
        "/alertingscout-audit-*/_search",
        "/_cat/indices",
    ] {
        let (status, _) = es(None, "GET", path, None);
        assert_eq!(status, 401, "anonymous GET {path} answered {status}");
    }
    let (status, _) = es(
        None,
        "POST",
        "/_bulk",
        Some(&format!(
            "{}\n{}\n",
            json!({"create": {"_index": "logs-alertingscout-anon"}}),
            doc("anon")
        )),
    );
    assert_eq!(status, 401, "anonymous _bulk answered {status}");
    let wrong = format!(
        "Basic {}",
        base64_of(&format!("{ONCALL_READER}:not-the-password"))
    );
    let mut resp = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
        .get(&format!("{}/_cluster/health", url(ports::ELASTICSEARCH)))
        .header("Authorization", &wrong)
        .call()
        .expect("health with a wrong password");
    assert_eq!(resp.status().as_u16(), 401);
    let _ = resp.body_mut().read_to_string();
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn each_user_can_do_its_job_and_nothing_more() {
    common::require_stack();
    let tag = unique("sectest").to_lowercase();
    let ix = Indices {
        logs: format!("logs-alertingscout-{tag}"),
        traces: format!("traces-alertingscout-{tag}"),
        audit: format!("alertingscout-audit-{tag}"),
    };

    // The Collector's writer: creates log and span documents, nothing else.
    assert_eq!(bulk_create(COLLECTOR_WRITER, &ix.logs, "w1"), 201);
    assert_eq!(bulk_create(COLLECTOR_WRITER, &ix.traces, "w2"), 201);
    assert_eq!(
        search_status(COLLECTOR_WRITER, &ix.logs),
        403,
        "the writer cannot search"
    );
    assert_eq!(
        bulk_create(COLLECTOR_WRITER, &ix.audit, "w3"),
        403,
        "nor write the audit trail"
    );
    assert_eq!(
        bulk_create(COLLECTOR_WRITER, "alertingscout-other", "w4"),
        403
    );
    assert_eq!(
        es(
            Some(COLLECTOR_WRITER),
            "DELETE",
            &format!("/{}", ix.logs),
            None
        )
        .0,
        403
    );

    // The audit writer: appends to the audit indices, cannot read, overwrite or delete.
    assert_eq!(bulk_create(ONCALL_AUDIT_WRITER, &ix.audit, "a1"), 201);
    let (status, _) = es(
        Some(ONCALL_AUDIT_WRITER),
        "PUT",
        &format!("/{}/_doc/fixed-id", ix.audit),
        Some(&doc("a2")),
    );
    assert_eq!(
        status, 403,
        "the audit writer cannot index (overwrite) by id"
    );
    let (status, _) = es(
        Some(ONCALL_AUDIT_WRITER),
        "PUT",
        &format!("/{}/_create/fixed-id", ix.audit),
        Some(&doc("a3")),
    );
    assert_eq!(status, 201, "create-only by id works");
    assert_eq!(search_status(ONCALL_AUDIT_WRITER, &ix.audit), 403);
    assert_eq!(bulk_create(ONCALL_AUDIT_WRITER, &ix.logs, "a4"), 403);

    // The on-call reader: reads logs, spans and the audit trail; writes nothing.
    assert_eq!(search_status(ONCALL_READER, &ix.logs), 200);
    assert_eq!(search_status(ONCALL_READER, &ix.traces), 200);
    assert_eq!(search_status(ONCALL_READER, &ix.audit), 200);
    assert_eq!(
        bulk_create(ONCALL_READER, &ix.logs, "r1"),
        403,
        "the reader cannot write"
    );
    assert_eq!(bulk_create(ONCALL_READER, &ix.audit, "r2"), 403);
    // (This distribution has no _delete_by_query: documents go one by one.)
    let (status, _) = es(
        Some(ADMIN),
        "PUT",
        &format!("/{}/_create/known?refresh=true", ix.logs),
        Some(&doc("known")),
    );
    assert_eq!(status, 201);
    let (status, _) = es(
        Some(ONCALL_READER),
        "DELETE",
        &format!("/{}/_doc/known", ix.logs),
        None,
    );
    assert_eq!(status, 403, "the reader cannot delete a document");
    let (status, _) = es(
        Some(ONCALL_READER),
        "DELETE",
        &format!("/{}", ix.logs),
        None,
    );
    assert_eq!(status, 403, "nor an index");

    // Grafana's reader: logs and spans only, not the audit trail.
    assert_eq!(search_status(GRAFANA_READER, &ix.logs), 200);
    assert_eq!(search_status(GRAFANA_READER, &ix.audit), 403);
    assert_eq!(bulk_create(GRAFANA_READER, &ix.logs, "g1"), 403);

    // Retention: lists and deletes logs/traces indices, reads nothing.
    assert_eq!(search_status(ONCALL_RETENTION, &ix.logs), 403);
    let (status, listed) = es(
        Some(ONCALL_RETENTION),
        "GET",
        "/_cat/indices?format=json&h=index",
        None,
    );
    assert_eq!(status, 200);
    let names: Vec<&str> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["index"].as_str())
        .collect();
    assert!(names.contains(&ix.logs.as_str()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("alertingscout-audit")),
        "retention does not even see the audit indices: {names:?}"
    );

    // Nobody but elastic-admin deletes the audit trail.
    for user in [
        COLLECTOR_WRITER,
        ONCALL_READER,
        ONCALL_AUDIT_WRITER,
        ONCALL_RETENTION,
        GRAFANA_READER,
    ] {
        let (status, _) = es(Some(user), "DELETE", &format!("/{}", ix.audit), None);
        assert_eq!(status, 403, "{user} deleted the audit index");
    }
    let (status, _) = es(
        Some(ONCALL_RETENTION),
        "DELETE",
        &format!("/{}", ix.traces),
        None,
    );
    assert_eq!(status, 200, "retention deletes a traces index");
    let (status, _) = es(Some(ADMIN), "DELETE", &format!("/{}", ix.audit), None);
    assert_eq!(status, 200, "elastic-admin deletes the audit index");
}

#[test]
fn the_collector_writes_through_its_authenticated_exporter() {
    common::require_stack();
    let rid = unique("sec-export");
    let r = call("GET", "/health", None, &[("x-request-id", &rid)]).expect("health");
    assert_eq!(r.status, 200);
    let found = wait_for(
        "the request's log record, written as collector-writer",
        Duration::from_secs(30),
        Duration::from_millis(250),
        || {
            Ok(
                (!es_search("logs-alertingscout-*", term("request_id", &rid), 1)?.is_empty())
                    .then_some(()),
            )
        },
    );
    assert!(found.is_ok(), "{found:?}");
    // ... as the create-only writer, not as an administrator.
    let pid_file = common::layout().pid_file("collector");
    let pid = std::fs::read_to_string(&pid_file)
        .expect("the Collector's pid file")
        .split_whitespace()
        .next()
        .map(str::to_owned)
        .expect("a pid");
    let environ =
        std::fs::read(format!("/proc/{pid}/environ")).expect("the Collector's environment");
    let user = environ
        .split(|b| *b == 0)
        .filter_map(|kv| std::str::from_utf8(kv).ok())
        .find_map(|kv| kv.strip_prefix("ELASTICSEARCH_USER="))
        .map(str::to_owned);
    assert_eq!(user.as_deref(), Some(COLLECTOR_WRITER));
}
