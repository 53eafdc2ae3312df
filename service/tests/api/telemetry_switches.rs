//! The run-time export switches (`PATCH /admin/telemetry`): traces sampled down or
//! off, access records of a route off, logs and metrics off, and everything back,
//! without a restart, on both export paths, checked at a real OTLP receiver.

use std::time::Duration;

use otlp_sink::Sink;
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};
use crate::telemetry_contract::{eventually, logs, spans, str_attr};

const WAIT: Duration = Duration::from_secs(20);
const TOKEN: &str = "switch-token";

async fn app(path: &str, sink: &Sink) -> TestApp {
    TestApp::spawn_on(
        path,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &sink.grpc_endpoint()),
            ("ALERTINGSCOUT_ADMIN_TOKEN", TOKEN),
            ("ALERTINGSCOUT_PROMETHEUS_METRICS", "on"),
        ],
    )
    .await
}

async fn switch(app: &TestApp, body: Value) -> Value {
    let response = app
        .client
        .patch(app.url("/admin/telemetry"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "PATCH {body}");
    response.json().await.unwrap()
}

async fn reset(app: &TestApp) -> Value {
    let response = app
        .client
        .delete(app.url("/admin/telemetry"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn access_ids(sink: &Sink) -> Vec<String> {
    logs(sink)
        .iter()
        .filter(|l| {
            l.body
                .as_ref()
                .and_then(|b| b.value.as_ref())
                .is_some_and(|v| format!("{v:?}").contains("request completed"))
        })
        .filter_map(|l| str_attr(&l.attributes, "request_id"))
        .collect()
}

fn log_ids(sink: &Sink) -> Vec<String> {
    logs(sink)
        .iter()
        .filter_map(|l| str_attr(&l.attributes, "request_id"))
        .collect()
}

fn span_ids(sink: &Sink) -> Vec<String> {
    spans(sink)
        .iter()
        .filter_map(|s| str_attr(&s.attributes, "request_id"))
        .collect()
}

/// The `alertingscout_telemetry_export_sampled_ratio` gauge on the direct /metrics endpoint.
async fn ratio(app: &TestApp, signal: &str) -> Option<f64> {
    let text = app.get("/metrics").await.text().await.unwrap();
    let prefix = "alertingscout_telemetry_export_sampled_ratio{";
    text.lines()
        .filter(|l| l.starts_with(prefix) && l.contains(&format!("signal=\"{signal}\"")))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

async fn switches_turn_signals_off_and_back_without_a_restart(path: &str) {
    let sink = Sink::start(true).await.unwrap();
    let app = app(path, &sink).await;
    let pid = app.pid();

    // Traces off and GET /health's access records off; everything else still goes.
    let state = switch(
        &app,
        json!({"traces": {"sample_ratio": 0.0}, "logs": {"access_log_off": ["GET /health"]}}),
    )
    .await;
    assert_eq!(state["traces"]["sample_ratio"], 0.0, "{state}");
    assert_eq!(state["logs"]["access_log_off"], json!(["GET /health"]));
    assert_eq!(state["default"], false);
    let report: Value = app.get("/health/telemetry").await.json().await.unwrap();
    assert_eq!(report["switches"], state, "shown in /health/telemetry");
    assert_eq!(ratio(&app, "traces").await, Some(0.0));
    for i in 0..3 {
        assert_eq!(
            app.get_with_id("/health", &format!("sw-health-{i}"))
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        app.get_with_id("/projects", "sw-projects").await.status(),
        200
    );
    assert!(
        eventually(WAIT, || access_ids(&sink)
            .contains(&"sw-projects".to_owned()))
        .await,
        "other routes' access records still arrive: {:?}",
        sink.counts()
    );

    // Logs and metrics off too.
    switch(
        &app,
        json!({"logs": {"export": false}, "metrics": {"export": false}}),
    )
    .await;
    assert_eq!(ratio(&app, "logs").await, Some(0.0));
    assert_eq!(ratio(&app, "metrics").await, Some(0.0));
    // Lets an export already under way land, then none may follow.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let metric_exports = sink.metrics().len();
    let created = app
        .client
        .post(app.url("/projects"))
        .header("x-request-id", "sw-logs-off")
        .json(&json!({"name": "Quiet"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "requests are served as before");
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(
        sink.metrics().len(),
        metric_exports,
        "no metric export while metrics are off (interval 500 ms)"
    );

    // Back to the defaults: everything flows again, the counters never reset.
    let state = reset(&app).await;
    assert_eq!(state["default"], true, "{state}");
    assert_eq!(app.get_with_id("/health", "sw-after").await.status(), 200);
    assert!(
        eventually(WAIT, || access_ids(&sink).contains(&"sw-after".to_owned())
            && span_ids(&sink).contains(&"sw-after".to_owned())
            && sink.metrics().len() > metric_exports)
        .await,
        "signals resume after the reset: {:?}",
        sink.counts()
    );
    // One more log interval: whatever was let through would have arrived by now.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (spans, logs) = (span_ids(&sink), log_ids(&sink));
    for id in [
        "sw-health-0",
        "sw-health-1",
        "sw-health-2",
        "sw-projects",
        "sw-logs-off",
    ] {
        assert!(
            !spans.iter().any(|s| s == id),
            "a span of {id} while traces were off"
        );
    }
    for id in ["sw-health-0", "sw-health-1", "sw-health-2", "sw-logs-off"] {
        assert!(
            !logs.iter().any(|s| s == id),
            "a log record of {id} while off: {logs:?}"
        );
    }
    assert_eq!(ratio(&app, "traces").await, Some(1.0));
    // Each change is logged; the one turning logs back on is exported.
    let announced = crate::telemetry_contract::logs(&sink).iter().any(|l| {
        l.body
            .as_ref()
            .and_then(|b| b.value.as_ref())
            .is_some_and(|v| format!("{v:?}").contains("telemetry export switches set"))
    });
    assert!(announced, "the switch changes are logged");
    assert_eq!(app.pid(), pid, "no restart");
}

async fn bad_switches_are_refused_with_the_field_named(path: &str) {
    let sink = Sink::start(true).await.unwrap();
    let app = app(path, &sink).await;
    let response = app
        .client
        .patch(app.url("/admin/telemetry"))
        .bearer_auth(TOKEN)
        .json(&json!({"traces": {"sample_ratio": 2}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let (_, field) = error_of(response).await;
    assert_eq!(field.as_deref(), Some("traces.sample_ratio"));
    let response = app
        .client
        .patch(app.url("/admin/telemetry"))
        .bearer_auth("wrong")
        .json(&json!({"traces": {"export": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let state: Value = app
        .client
        .get(app.url("/admin/telemetry"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["default"], true, "nothing changed: {state}");
}

mod lean {
    #[tokio::test]
    async fn switches_turn_signals_off_and_back_without_a_restart() {
        super::switches_turn_signals_off_and_back_without_a_restart("lean").await
    }

    #[tokio::test]
    async fn bad_switches_are_refused_with_the_field_named() {
        super::bad_switches_are_refused_with_the_field_named("lean").await
    }
}

mod sdk {
    #[tokio::test]
    async fn switches_turn_signals_off_and_back_without_a_restart() {
        super::switches_turn_signals_off_and_back_without_a_restart("sdk").await
    }

    #[tokio::test]
    async fn bad_switches_are_refused_with_the_field_named() {
        super::bad_switches_are_refused_with_the_field_named("sdk").await
    }
}
