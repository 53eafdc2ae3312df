//! `oncall serve` as Alertmanager meets it: the real binary on a free port, a chat
//! webhook that fails on purpose (an in-process stand-in: no chat service is
//! reachable here), Elasticsearch down, and a real OTLP receiver for its metrics.
//! The examples from a live Elasticsearch are proven by the drills on the stack
//! (xtask/tests/alert_drills.rs).

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use otlp_sink::Sink;
use serde_json::{json, Value};
use testkit::process::Spawned;

/// A chat webhook answering 503 to the first `failures` posts, then 200.
async fn chat_webhook(
    failures: u32,
) -> (String, Arc<AtomicU32>, Arc<std::sync::Mutex<Vec<Value>>>) {
    let calls = Arc::new(AtomicU32::new(0));
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, b) = (Arc::clone(&calls), Arc::clone(&bodies));
    let app = Router::new().route(
        "/hook",
        post(move |body: axum::Json<Value>| {
            let (c, b) = (Arc::clone(&c), Arc::clone(&b));
            async move {
                b.lock().unwrap().push(body.0);
                if c.fetch_add(1, Ordering::SeqCst) < failures {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, calls, bodies)
}

struct Relay {
    process: Spawned,
    outbox: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn start_relay(env: &[(&str, &str)]) -> Relay {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("oncall/outbox.ndjson");
    let mut command = Command::new(env!("CARGO_BIN_EXE_oncall"));
    command
        .arg("serve")
        .env_clear()
        .env("ONCALL_LISTEN", "127.0.0.1:0")
        .env("ONCALL_OUTBOX", &outbox)
        // Nothing listens on port 9: Elasticsearch is down.
        .env("ONCALL_ELASTICSEARCH_URL", "http://127.0.0.1:9")
        .env("ONCALL_DELIVERY_BACKOFF_MS", "20")
        .env("OTEL_SDK_DISABLED", "true");
    for (k, v) in env {
        command.env(k, v);
    }
    let process = Spawned::start(command, "oncall listening on ", Duration::from_secs(20));
    Relay {
        process,
        outbox,
        _dir: dir,
    }
}

fn payload(status: &str) -> Value {
    json!({
        "version": "4", "status": status, "receiver": "oncall-relay", "groupKey": "g",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "ApiHighErrorRate", "http_route": "/projects/{id}", "job": "alertingscout", "severity": "page"},
            "annotations": {"summary": "20 % fail", "dashboard_url": "http://127.0.0.1:3000/d/alertingscout-api/a?var-route=%2Fprojects%2F%7Bid%7D&from=now-1h&to=now"},
            "startsAt": "2026-12-01T14:00:00Z",
            "endsAt": if status == "firing" { "0001-01-01T00:00:00Z" } else { "2026-12-01T14:20:00Z" },
            "fingerprint": "0123456789abcdef"
        }]
    })
}

async fn post_webhook(relay: &Relay, body: &Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/webhook/alertmanager", relay.process.address))
        .json(body)
        .send()
        .await
        .expect("the relay answers");
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn outbox_lines(relay: &Relay) -> Vec<Value> {
    std::fs::read_to_string(&relay.outbox)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each outbox line is JSON"))
        .collect()
}

#[tokio::test]
async fn a_flaky_chat_webhook_is_retried_and_elasticsearch_down_delays_nothing() {
    let (hook, calls, bodies) = chat_webhook(2).await;
    let relay = start_relay(&[("ONCALL_SLACK_WEBHOOK_URL", &hook)]);
    let started = std::time::Instant::now();
    let (status, body) = post_webhook(&relay, &payload("firing")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3, "two 503s, then delivered");

    let lines = outbox_lines(&relay);
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["status"], "firing");
    assert_eq!(line["alertname"], "ApiHighErrorRate");
    assert_eq!(line["labels"]["http_route"], "/projects/{id}");
    assert_eq!(line["starts_at"], "2026-12-01T14:00:00Z");
    assert_eq!(line["ends_at"], Value::Null);
    assert_eq!(line["delivered_to"], json!(["slack", "outbox"]));
    assert_eq!(line["examples"], json!([]));
    let why = line["examples_error"]
        .as_str()
        .expect("says why there are no examples");
    assert!(why.contains("Elasticsearch"), "{why}");
    let dashboard = line["annotations"]["dashboard_url"].as_str().unwrap();
    assert!(
        !dashboard.contains("now-1h"),
        "pinned to the alert's range: {dashboard}"
    );

    let text = bodies.lock().unwrap()[2]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("[FIRING] ApiHighErrorRate"), "{text}");
    assert!(text.contains("No example requests"), "{text}");

    let (status, _) = post_webhook(&relay, &payload("resolved")).await;
    assert_eq!(status, StatusCode::OK);
    let lines = outbox_lines(&relay);
    assert_eq!(lines.len(), 2, "append-only: the firing line stays");
    assert_eq!(lines[1]["status"], "resolved");
    assert_eq!(lines[1]["ends_at"], "2026-12-01T14:20:00Z");
}

#[tokio::test]
async fn a_failing_delivery_is_recorded_counted_and_exported() {
    let sink = Sink::start(true).await.expect("otlp sink");
    let (hook, calls, _) = chat_webhook(u32::MAX).await;
    let endpoint = sink.http_endpoint().expect("OTLP/HTTP");
    let relay = start_relay(&[
        ("ONCALL_SLACK_WEBHOOK_URL", &hook),
        ("ONCALL_DELIVERY_ATTEMPTS", "3"),
        ("OTEL_SDK_DISABLED", "false"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
    ]);
    let (status, _) = post_webhook(&relay, &payload("firing")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the outbox took it: Alertmanager need not retry"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let line = &outbox_lines(&relay)[0];
    assert_eq!(line["delivered_to"], json!(["outbox"]));
    assert!(
        line["failed"]["slack"].as_str().unwrap().contains("503"),
        "{line}"
    );

    // oncall.notifications{target, outcome} reaches the Collector side.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let counts = notification_counts(&sink);
        if counts.get(&("slack".into(), "failed".into())) == Some(&1)
            && counts.get(&("outbox".into(), "delivered".into())) == Some(&1)
        {
            // Started at 0, so a rule's increase() sees the first failure.
            assert_eq!(counts.get(&("slack".into(), "delivered".into())), Some(&0));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "metrics not exported: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The newest `oncall.notifications` value per (target, outcome).
fn notification_counts(sink: &Sink) -> BTreeMap<(String, String), u64> {
    let mut counts = BTreeMap::new();
    for request in sink.metrics() {
        for metric in request
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .filter(|m| m.name == "oncall.notifications")
        {
            let Some(Data::Sum(sum)) = &metric.data else {
                continue;
            };
            for point in &sum.data_points {
                let attr = |key: &str| {
                    point
                        .attributes
                        .iter()
                        .find(|kv| kv.key == key)
                        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                            AnyValue::StringValue(s) => Some(s.clone()),
                            _ => None,
                        })
                };
                let value = match point.value {
                    Some(
                        opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(i),
                    ) => i as u64,
                    Some(
                        opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(
                            d,
                        ),
                    ) => d as u64,
                    None => continue,
                };
                if let (Some(t), Some(o)) = (attr("target"), attr("outcome")) {
                    counts.insert((t, o), value);
                }
            }
        }
    }
    counts
}

#[tokio::test]
async fn a_payload_that_is_not_alertmanagers_gets_a_400_naming_the_field() {
    let relay = start_relay(&[]);
    let mut bad = payload("firing");
    bad["alerts"][0]["startsAt"] = json!("yesterday");
    let (status, body) = post_webhook(&relay, &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_payload");
    assert_eq!(body["error"]["field"], "alerts[0].startsAt");
    assert!(
        outbox_lines(&relay).is_empty(),
        "nothing written for a bad payload"
    );
}
