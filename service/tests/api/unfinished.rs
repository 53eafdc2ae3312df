//! Requests that do not end normally: a panicking handler and a request dropped
//! before its response. Both must end their span, record their duration and leave
//! http.server.active_requests where it was; a panic is a 500, never a dropped
//! connection.

use std::time::Duration;

use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point, Metric};
use otlp_sink::Sink;
use serde_json::json;

use crate::helpers::TestApp;
use crate::telemetry_contract::{eventually, latest_metrics, logs, spans, str_attr};

const TOKEN: &str = "drill";

async fn app(sink: &Sink) -> TestApp {
    TestApp::spawn_with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &sink.grpc_endpoint()),
        ("ALERTINGSCOUT_ADMIN_TOKEN", TOKEN),
    ])
    .await
}

async fn set_fault(app: &TestApp, rule: serde_json::Value) {
    let response = app
        .client
        .post(app.url("/admin/faults"))
        .bearer_auth(TOKEN)
        .json(&rule)
        .send()
        .await
        .expect("admin");
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

/// GET requests in flight, as the newest metric export says.
fn active_gets(metrics: &[Metric]) -> Option<i64> {
    let active = metrics
        .iter()
        .find(|m| m.name == "http.server.active_requests")?;
    let Some(Data::Sum(sum)) = &active.data else {
        return None;
    };
    sum.data_points
        .iter()
        .find(|p| str_attr(&p.attributes, "http.request.method").as_deref() == Some("GET"))
        .and_then(|p| match p.value {
            Some(number_data_point::Value::AsInt(n)) => Some(n),
            _ => None,
        })
}

/// Count of http.server.request.duration points with this route and error.type.
fn durations_with_error(metrics: &[Metric], route: &str, error_type: &str) -> u64 {
    metrics
        .iter()
        .filter(|m| m.name == "http.server.request.duration")
        .filter_map(|m| match &m.data {
            Some(Data::Histogram(h)) => Some(h),
            _ => None,
        })
        .flat_map(|h| &h.data_points)
        .filter(|p| {
            str_attr(&p.attributes, "http.route").as_deref() == Some(route)
                && str_attr(&p.attributes, "error.type").as_deref() == Some(error_type)
        })
        .map(|p| p.count)
        .sum()
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_is_traced_and_counted() {
    let sink = Sink::start(true).await.unwrap();
    let app = app(&sink).await;
    set_fault(&app, json!({"route": "/projects/{id}", "panic_rate": 1.0})).await;

    let response = app.get_with_id("/projects/1", "panic-1").await;
    assert_eq!(response.status(), 500, "a 500, not a dropped connection");
    let body: serde_json::Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"]["code"], "panic");
    assert!(
        !body.to_string().contains("injected fault: panic"),
        "the panic message stays in the logs: {body}"
    );
    // The connection and the server survive.
    assert_eq!(app.get("/health").await.status(), 200);

    assert!(
        eventually(Duration::from_secs(20), || {
            let metrics = latest_metrics(&sink);
            durations_with_error(&metrics, "/projects/{id}", "panic") == 1
                && active_gets(&metrics) == Some(0)
        })
        .await,
        "duration with error.type=panic and active requests back at 0"
    );
    let span_ok = eventually(Duration::from_secs(20), || {
        spans(&sink).iter().any(|s| {
            str_attr(&s.attributes, "request_id").as_deref() == Some("panic-1")
                && str_attr(&s.attributes, "error.type").as_deref() == Some("panic")
        })
    })
    .await;
    assert!(span_ok, "the server span ends with error.type=panic");
    let logged = eventually(Duration::from_secs(20), || {
        logs(&sink).iter().any(|l| {
            str_attr(&l.attributes, "exception.type").as_deref() == Some("panic")
                && str_attr(&l.attributes, "exception.message")
                    .is_some_and(|m| m.contains("injected fault: panic on /projects/{id}"))
        })
    })
    .await;
    assert!(logged, "the panic payload is logged as the exception");
}

#[tokio::test]
async fn a_request_dropped_before_its_response_is_ended_and_counted() {
    let sink = Sink::start(true).await.unwrap();
    let app = app(&sink).await;
    set_fault(&app, json!({"route": "/projects/{id}", "delay_ms": 3000})).await;

    // The client gives up long before the 3 s delay is over.
    let gone = app
        .client
        .get(app.url("/projects/1"))
        .header("x-request-id", "gone-1")
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(gone.is_err(), "the client timed out");

    assert!(
        eventually(Duration::from_secs(20), || {
            let metrics = latest_metrics(&sink);
            durations_with_error(&metrics, "/projects/{id}", "cancelled") == 1
                && active_gets(&metrics) == Some(0)
        })
        .await,
        "duration with error.type=cancelled and active requests back at 0: {:?}",
        active_gets(&latest_metrics(&sink))
    );
    let span_ok = eventually(Duration::from_secs(20), || {
        spans(&sink).iter().any(|s| {
            str_attr(&s.attributes, "request_id").as_deref() == Some("gone-1")
                && str_attr(&s.attributes, "error.type").as_deref() == Some("cancelled")
        })
    })
    .await;
    assert!(span_ok, "the server span ends with error.type=cancelled");
    let logged = eventually(Duration::from_secs(20), || {
        logs(&sink).iter().any(|l| {
            str_attr(&l.attributes, "request_id").as_deref() == Some("gone-1")
                && str_attr(&l.attributes, "error.type").as_deref() == Some("cancelled")
        })
    })
    .await;
    assert!(logged, "one access record says the request was cancelled");
}
