//! Shared by the oncall tests against the real Elasticsearch (logs, retention,
//! incident, cost): an elastic-admin client for their fixtures, the cleanup of
//! their indices, and small helpers. Credentials come from testkit::elastic.
#![allow(dead_code)]

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub use testkit::elastic::{self, credentials, es_url};

/// `name` from the environment, unless unset or blank.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// ONCALL_PROMETHEUS_URL, default the stack's.
pub fn prometheus_url() -> String {
    env("ONCALL_PROMETHEUS_URL")
        .unwrap_or_else(|| "http://127.0.0.1:9090".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The daily audit indices of `prefix` a run can write: today's and, past
/// midnight, tomorrow's (UTC).
pub fn audit_days(prefix: &str) -> Vec<String> {
    let today = chrono::Utc::now().date_naive();
    [today, today + chrono::Days::new(1)]
        .iter()
        .map(|d| format!("{prefix}-{}", d.format("%Y.%m.%d")))
        .collect()
}

/// `oncall serve` as the stack runs it: port 0, its outbox and operators in `dir`,
/// the stack's least-privileged Elasticsearch users (reader, audit writer,
/// retention), no telemetry, no retention schedule against the shared server
/// (a test that wants one sets ONCALL_RETENTION_INTERVAL). A test adds its indices.
pub fn serve_command(dir: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_oncall"));
    command
        .arg("serve")
        .env("ONCALL_LISTEN", "127.0.0.1:0")
        .env("ONCALL_OUTBOX", dir.join("outbox.ndjson"))
        .env("ONCALL_OPERATORS", dir.join("operators.toml"))
        .env("ONCALL_ELASTICSEARCH_URL", es_url())
        .env("ONCALL_RETENTION_INTERVAL", "off")
        .env("OTEL_SDK_DISABLED", "true")
        .envs(credentials(elastic::ONCALL_READER).oncall_env(""))
        .envs(credentials(elastic::ONCALL_AUDIT_WRITER).oncall_env("AUDIT_"))
        .envs(credentials(elastic::ONCALL_RETENTION).oncall_env("RETENTION_"));
    command
}

/// Elasticsearch as elastic-admin: the tests' fixtures, never the code under test.
#[derive(Clone)]
pub struct Es {
    url: String,
    http: reqwest::Client,
}

impl Es {
    pub fn admin() -> Es {
        Es {
            url: es_url(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let admin = credentials(elastic::ADMIN);
        let resp = req
            .basic_auth(admin.user, Some(admin.password))
            .send()
            .await
            .unwrap_or_else(|e| panic!("Elasticsearch at {}: {e}; run `cargo xtask up`", self.url));
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// One request with an optional JSON body: its status and JSON answer.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}/{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    /// One request with an NDJSON body (`_bulk`).
    pub async fn ndjson(&self, method: reqwest::Method, path: &str, body: String) -> (u16, Value) {
        let req = self
            .http
            .request(method, format!("{}/{path}", self.url))
            .header("content-type", "application/x-ndjson")
            .body(body);
        self.send(req).await
    }

    pub async fn exists(&self, index: &str) -> bool {
        self.call(reqwest::Method::HEAD, index, None).await.0 == 200
    }

    /// Creates `index`; false when it was there already.
    pub async fn create(&self, index: &str, body: Option<Value>) -> bool {
        let (status, answer) = self.call(reqwest::Method::PUT, index, body).await;
        match status {
            200 => true,
            400 if answer.to_string().contains("resource_already_exists") => false,
            _ => panic!("creating {index}: {status} {answer}"),
        }
    }

    /// Creates `docs` in `index` (refreshed); fails the test on any error.
    pub async fn bulk(&self, index: &str, docs: &[Value]) {
        let mut body = String::new();
        for d in docs {
            body.push_str("{\"create\":{}}\n");
            body.push_str(&d.to_string());
            body.push('\n');
        }
        let (_, answer) = self
            .ndjson(
                reqwest::Method::POST,
                &format!("{index}/_bulk?refresh=true"),
                body,
            )
            .await;
        assert_eq!(
            answer["errors"],
            false,
            "bulk into {index}: {}",
            &answer.to_string()[..500.min(answer.to_string().len())]
        );
    }

    /// Every audit record under `prefix`, oldest first (refreshed first).
    pub async fn audit_records(&self, prefix: &str) -> Vec<Value> {
        self.call(reqwest::Method::POST, &format!("{prefix}-*/_refresh"), None)
            .await;
        let (_, answer) = self
            .call(
                reqwest::Method::POST,
                &format!("{prefix}-*/_search"),
                Some(json!({"size": 1000, "sort": [{"@timestamp": "asc"}]})),
            )
            .await;
        answer["hits"]["hits"]
            .as_array()
            .map(|h| h.iter().map(|h| h["_source"].clone()).collect())
            .unwrap_or_default()
    }
}

/// Deletes the test's indices, by exact name, even when an assertion fails.
pub struct Cleanup {
    pub indices: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let indices = std::mem::take(&mut self.indices);
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let es = Es::admin();
                for index in indices {
                    es.call(reqwest::Method::DELETE, &index, None).await;
                }
            });
        })
        .join();
    }
}
