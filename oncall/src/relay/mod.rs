//! The Alertmanager relay: `POST /webhook/alertmanager` turns each alert into a
//! notification with example requests and delivers it (see `delivery`).
//!
//! A webhook is answered 200 once every notification of it is in the outbox, and
//! 500 when the outbox could not be written, so Alertmanager sends it again.
//! Elasticsearch being slow or down never holds a notification back for longer
//! than the examples timeout: it goes out without examples and says why.

pub mod alertmanager;
pub mod delivery;
pub mod examples;
pub mod links;
pub mod metrics;
pub mod notification;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use futures_util::future::join_all;
use serde_json::json;

use alertmanager::{Alert, AlertStatus, WebhookPayload};
use delivery::Deliverer;
use examples::{ExampleFinder, ExampleKind};
use metrics::RelayMetrics;
use notification::Notification;

pub const WEBHOOK_PATH: &str = "/webhook/alertmanager";

pub struct Relay {
    /// Its Elasticsearch client times out after the examples timeout.
    pub examples: ExampleFinder,
    pub deliverer: Deliverer,
    pub metrics: RelayMetrics,
}

impl Relay {
    /// Builds, enriches and delivers one alert's notification.
    pub async fn relay(&self, alert: &Alert) -> Result<Notification, delivery::AttemptError> {
        let now = Utc::now();
        let mut notification = Notification::new(alert, now);
        self.add_examples(alert, &mut notification, now).await;
        let notification = self.deliverer.deliver(notification).await?;
        tracing::info!(
            alertname = %notification.alertname,
            status = notification.status.as_str(),
            http.route = notification.route().unwrap_or(""),
            examples = notification.examples.len(),
            delivered_to = ?notification.delivered_to,
            "notification relayed"
        );
        Ok(notification)
    }

    async fn add_examples(
        &self,
        alert: &Alert,
        notification: &mut Notification,
        now: chrono::DateTime<Utc>,
    ) {
        // Examples help while it fires; the resolution only needs to say so.
        if alert.status != AlertStatus::Firing {
            return;
        }
        let (Some(kind), Some(route)) = (ExampleKind::for_alert(alert.name()), alert.route())
        else {
            return;
        };
        let range = examples::window(alert.starts_at, alert.ended(), now);
        let job = alert.labels.get("job").map(String::as_str);
        // The Elasticsearch client's own timeout (examples_timeout) bounds this.
        match self.examples.find(kind, job, route, range).await {
            Ok(found) => {
                self.metrics
                    .lookup(if found.is_empty() { "none" } else { "found" });
                if found.is_empty() {
                    notification.examples_error =
                        Some("no matching requests in the logs yet".into());
                }
                notification.examples = found;
            }
            Err(error) => {
                self.metrics.lookup("error");
                tracing::warn!(error = %error, "example lookup failed; notifying without examples");
                notification.examples_error = Some(error.to_string());
            }
        }
    }
}

pub fn router(relay: Arc<Relay>) -> Router {
    Router::new()
        .route(WEBHOOK_PATH, post(webhook))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .with_state(relay)
}

fn error(status: StatusCode, code: &str, message: String, field: Option<String>) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message, "field": field}})),
    )
        .into_response()
}

async fn webhook(State(relay): State<Arc<Relay>>, body: Bytes) -> Response {
    let deserializer = &mut serde_json::Deserializer::from_slice(&body);
    let payload: WebhookPayload = match serde_path_to_error::deserialize(deserializer) {
        Ok(payload) => payload,
        Err(e) => {
            let field = e.path().to_string();
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_payload",
                format!("not an Alertmanager webhook payload: {}", e.inner()),
                Some(field).filter(|f| f != "."),
            );
        }
    };
    let results = join_all(payload.alerts.iter().map(|alert| relay.relay(alert))).await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "outbox_unwritable",
            format!(
                "{failed} of {} notifications could not be written to the outbox",
                results.len()
            ),
            None,
        );
    }
    Json(json!({"notifications": results.len()})).into_response()
}
