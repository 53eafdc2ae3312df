//! Liveness, readiness (the database answers) and the telemetry pipeline's
//! health, plus the optional Prometheus endpoint.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::AppState;

pub async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn ready(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => Json(json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "database": error.to_string() })),
        )
            .into_response(),
    }
}

/// 200 while every signal's last export succeeded, 503 when one is failing:
/// the spec's "health indicator for the logging pipeline". Requests are never
/// affected either way.
pub async fn telemetry(State(state): State<AppState>) -> Response {
    let report = state.telemetry.report();
    let status = if report.status == "degraded" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(report)).into_response()
}

pub async fn prometheus(State(state): State<AppState>) -> Response {
    let Some(registry) = state.telemetry.prometheus() else {
        // The endpoint is on but telemetry is off (OTEL_SDK_DISABLED=true): no metrics.
        return crate::error::ApiError::NoRoute {
            method: "GET".into(),
            path: "/metrics (telemetry is disabled)".into(),
        }
        .into_response();
    };
    match crate::telemetry::prometheus::render(registry) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}
