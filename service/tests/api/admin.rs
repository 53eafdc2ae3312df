use serde_json::json;

use crate::helpers::{error_of, TestApp};

#[tokio::test]
async fn admin_endpoints_are_off_without_a_token() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/admin/faults"))
        .bearer_auth("anything")
        .json(&json!({"route": "*", "error_rate": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(app.get("/projects").await.status(), 200);
}

#[tokio::test]
async fn injected_faults_answer_500_until_cleared() {
    let app = TestApp::spawn_with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", crate::helpers::DEAD_ENDPOINT),
        ("ALERTINGSCOUT_ADMIN_TOKEN", "s3cret"),
    ])
    .await;
    let set = |token: &'static str, body: serde_json::Value| {
        app.client
            .post(app.url("/admin/faults"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    assert_eq!(
        set("wrong", json!({"route": "/projects"}))
            .await
            .unwrap()
            .status(),
        401
    );
    let response = set("s3cret", json!({"route": "/projects", "error_rate": 2}))
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(error_of(response).await.1.as_deref(), Some("error_rate"));

    let response = set("s3cret", json!({"route": "/projects", "error_rate": 1.0}))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let failed = app.get("/projects").await;
    assert_eq!(failed.status(), 500);
    assert_eq!(error_of(failed).await.0, "injected_fault");
    assert_eq!(
        app.get("/health").await.status(),
        200,
        "other routes unaffected"
    );
    // A wildcard drill hits every API route but never health or admin.
    let response = set("s3cret", json!({"route": "*", "error_rate": 1.0}))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.get("/todos/1").await.status(), 500);
    assert_eq!(app.get("/health").await.status(), 200);
    assert_ne!(app.get("/health/telemetry").await.status(), 500);

    let listed: serde_json::Value = app
        .client
        .get(app.url("/admin/faults"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["faults"]["/projects"]["error_rate"], 1.0);

    let cleared = app
        .client
        .delete(app.url("/admin/faults"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(app.get("/projects").await.status(), 200);
}
