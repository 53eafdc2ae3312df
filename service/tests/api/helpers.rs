use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use reqwest::{Client, Response};
use serde_json::{json, Value};
use testkit::process::Spawned;

/// A running `alertingscout` process on a random loopback port.
pub struct TestApp {
    pub address: String,
    pub client: Client,
    process: Spawned,
    /// The database's directory, removed after the process is killed (fields drop in
    /// this order).
    _dir: tempfile::TempDir,
}

/// OTLP export to a port where nothing listens: telemetry on, no receiver.
pub const DEAD_ENDPOINT: &str = "http://127.0.0.1:9";

impl TestApp {
    /// Telemetry on, exporting to nowhere.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", DEAD_ENDPOINT)]).await
    }

    /// On one export path (ALERTINGSCOUT_OTLP_EXPORTER: lean or sdk).
    pub async fn spawn_on(path: &str, env: &[(&str, &str)]) -> TestApp {
        let mut all = vec![("ALERTINGSCOUT_OTLP_EXPORTER", path)];
        all.extend_from_slice(env);
        Self::spawn_with(&all).await
    }

    pub async fn spawn_with(env: &[(&str, &str)]) -> TestApp {
        Self::spawn_writing(env, None).await
    }

    /// With its stdout (the JSON log lines, if ALERTINGSCOUT_LOG_STDOUT=on) in `stdout`.
    pub async fn spawn_writing(env: &[(&str, &str)], stdout: Option<std::fs::File>) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let binary = Path::new(env!("CARGO_BIN_EXE_alertingscout"));
        let mut command = testkit::service::command(binary, dir.path());
        if let Some(file) = stdout {
            command.stdout(file);
        }
        command
            .env("OTEL_METRIC_EXPORT_INTERVAL", "500")
            .env("OTEL_BSP_SCHEDULE_DELAY", "200")
            .env("OTEL_BLRP_SCHEDULE_DELAY", "200")
            .env("OTEL_EXPORTER_OTLP_TIMEOUT", "3000");
        for (key, value) in env {
            command.env(key, value);
        }
        let process = testkit::service::start(command, Duration::from_secs(30));
        TestApp {
            address: process.address.clone(),
            client: Client::builder().build().expect("client"),
            process,
            _dir: dir,
        }
    }

    /// The app's process id, to read its CPU time from /proc.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// GET with a chosen `x-request-id`, to find the request's telemetry.
    pub async fn get_with_id(&self, path: &str, request_id: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("x-request-id", request_id)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn create_project(&self, name: &str) -> Value {
        let response = self.post_json("/projects", &json!({ "name": name })).await;
        assert_eq!(response.status(), 201);
        response.json().await.expect("json")
    }

    pub async fn create_todo(&self, project_id: i64, title: &str) -> Value {
        let response = self
            .post_json(
                &format!("/projects/{project_id}/todos"),
                &json!({ "title": title }),
            )
            .await;
        assert_eq!(response.status(), 201);
        response.json().await.expect("json")
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        self.process.terminate(Duration::from_secs(30))
    }
}

/// The error body of a 4xx/5xx response: (code, field).
pub async fn error_of(response: Response) -> (String, Option<String>) {
    let body: Value = response.json().await.expect("a JSON error body");
    let error = &body["error"];
    (
        error["code"].as_str().expect("error.code").to_owned(),
        error["field"].as_str().map(str::to_owned),
    )
}
