use std::time::Duration;

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let health: serde_json::Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_then_exits_cleanly() {
    let mut app = TestApp::spawn_with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", crate::helpers::DEAD_ENDPOINT),
        ("ALERTINGSCOUT_ADMIN_TOKEN", "t"),
    ])
    .await;
    let response = app
        .client
        .post(app.url("/admin/faults"))
        .bearer_auth("t")
        .json(&json!({"route": "/projects", "delay_ms": 800}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let client = app.client.clone();
    let url = app.url("/projects");
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = app.terminate();
        (status, app)
    })
    .await
    .unwrap();
    assert!(status.0.success(), "clean exit, got {:?}", status.0);
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request completed");
    assert_eq!(response.status(), 200);
}
