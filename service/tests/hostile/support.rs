//! The real application in-process: the router of `startup::app` with
//! telemetry on (exporting to a port where nothing listens) and the
//! Prometheus registry on, so every request goes through the same layers as
//! in production and its metric series can be read back from GET /metrics.

use std::sync::OnceLock;
use std::time::Duration;

use alertingscout::configuration::Settings;
use alertingscout::telemetry::config::OtelConfig;
use alertingscout::telemetry::{Telemetry, TelemetryHandle};
use axum::body::{to_bytes, Body};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt;

/// Telemetry is process-wide (a global subscriber and providers): one per
/// test binary, never shut down.
pub fn telemetry() -> TelemetryHandle {
    static HANDLE: OnceLock<TelemetryHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // Not the environment: the same settings wherever it runs. Nothing
            // listens on port 9: exports fail and are counted, requests never
            // wait for them.
            let config = OtelConfig::from_lookup(|key| match key {
                "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://127.0.0.1:9".into()),
                _ => None,
            })
            .expect("OTEL_* settings");
            let telemetry = Telemetry::init(config, false, true).expect("telemetry");
            let handle = telemetry.handle();
            // Kept alive for the whole process.
            std::mem::forget(telemetry);
            handle
        })
        .clone()
}

/// Settings of the in-process app (the database under a directory that lives
/// as long as the process).
pub fn settings() -> Settings {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"));
    let mut settings = Settings::for_tests(dir.path().join("hostile.sqlite"));
    settings.prometheus_metrics = true;
    settings.admin_token = Some(ADMIN_TOKEN.into());
    settings
}

pub const ADMIN_TOKEN: &str = "hostile-admin-token";

/// One router over one database, shared by the tests of a binary.
pub fn router() -> Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER
        .get_or_init(|| alertingscout::startup::app(&settings(), telemetry()).expect("app"))
        .clone()
}

/// A response taken apart: status, headers, body bytes.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `(code, field)` of a JSON error body, or a description of what is wrong
    /// with it.
    pub fn error(&self) -> Result<(String, Option<String>), String> {
        let body = self.json().ok_or_else(|| {
            format!(
                "{} without a JSON body: {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })?;
        let error = &body["error"];
        let code = error["code"]
            .as_str()
            .ok_or_else(|| format!("{} body without error.code: {body}", self.status))?;
        if error["message"].as_str().is_none_or(str::is_empty) {
            return Err(format!(
                "{} body without error.message: {body}",
                self.status
            ));
        }
        Ok((code.to_owned(), error["field"].as_str().map(str::to_owned)))
    }
}

/// Sends one request through the router (a panic in the app fails the test:
/// CatchPanicLayer would have turned it into a 500, checked by the callers).
pub async fn send(request: Request<Body>) -> Answer {
    let response = router()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("a response body under 1 MiB");
    Answer {
        status,
        headers,
        body: body.to_vec(),
    }
}

/// A multi-thread runtime for the property tests' synchronous bodies (the
/// store's calls run on its blocking pool).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A generous bound for a single in-process request (debug build, 2 shared cores).
pub const SLOW_REQUEST: Duration = Duration::from_secs(5);
