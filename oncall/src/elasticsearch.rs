//! A small Elasticsearch client: the searches the on-call tools need, over
//! reqwest (the official Rust client is alpha and pulls far more than this).

use std::time::Duration;

use serde_json::Value;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum EsError {
    #[error("Elasticsearch did not answer: {0}")]
    Unreachable(String),
    #[error("Elasticsearch answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("Elasticsearch's answer is not JSON: {0}")]
    Decode(String),
}

#[derive(Debug, Clone)]
pub struct Elasticsearch {
    client: reqwest::Client,
    base: Url,
    /// Basic-auth user and password, once Elasticsearch runs with security on.
    credentials: Option<(String, String)>,
}

impl Elasticsearch {
    /// `timeout` bounds each search whole, connecting included.
    pub fn new(base: Url, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Elasticsearch {
            client,
            base,
            credentials: None,
        })
    }

    /// Sends basic-auth `user`/`password` with every request (both non-empty).
    pub fn with_credentials(mut self, user: Option<String>, password: Option<String>) -> Self {
        self.credentials = match (user, password) {
            (Some(u), Some(p)) if !u.is_empty() => Some((u, p)),
            _ => None,
        };
        self
    }

    /// `method path?query` with an optional JSON body; the answer's JSON, or an
    /// error carrying the status and the start of the body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, EsError> {
        let mut url = self.base.clone();
        url.set_path(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self.client.request(method, url);
        if let Some((user, password)) = &self.credentials {
            request = request.basic_auth(user, Some(password));
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| EsError::Unreachable(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| EsError::Unreachable(e.to_string()))?;
        if !status.is_success() {
            return Err(EsError::Status {
                status: status.as_u16(),
                body: text.chars().take(500).collect(),
            });
        }
        serde_json::from_str(&text).map_err(|e| EsError::Decode(e.to_string()))
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Opens a point in time on `index` (kept 2 minutes between pages): an
    /// export pages through it, oldest first, past the 10,000-hit window.
    pub async fn point_in_time(&self, index: &str) -> Result<PointInTime<'_>, EsError> {
        let pit = self
            .send(
                reqwest::Method::POST,
                &format!("{index}/_pit"),
                &[
                    ("keep_alive", "2m"),
                    ("ignore_unavailable", "true"),
                    ("allow_no_indices", "true"),
                ],
                None,
            )
            .await?;
        let id = pit["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| EsError::Decode("no point-in-time id".into()))?;
        Ok(PointInTime {
            es: self,
            id,
            after: None,
        })
    }

    /// `POST {index}/_search` with `body`; a missing index is no hits, not an error.
    pub async fn search(&self, index: &str, body: &Value) -> Result<Value, EsError> {
        self.send(
            reqwest::Method::POST,
            &format!("{index}/_search"),
            &[("ignore_unavailable", "true"), ("allow_no_indices", "true")],
            Some(body),
        )
        .await
    }
}

/// A point in time being paged with `search_after`, sorted by `@timestamp` then
/// `_shard_doc` (stable across pages). Close it when done.
pub struct PointInTime<'a> {
    es: &'a Elasticsearch,
    id: String,
    after: Option<Value>,
}

impl PointInTime<'_> {
    /// The next page of at most `size` hits of `query` (empty at the end).
    pub async fn next_page(&mut self, query: &Value, size: u64) -> Result<Vec<Value>, EsError> {
        let mut body = serde_json::json!({
            "size": size,
            "query": query,
            "pit": { "id": self.id, "keep_alive": "2m" },
            "sort": [
                { "@timestamp": { "order": "asc", "format": "strict_date_optional_time_nanos", "unmapped_type": "date" } },
                { "_shard_doc": "asc" }
            ],
            "track_total_hits": false
        });
        if let Some(after) = self.after.take() {
            body["search_after"] = after;
        }
        let mut answer = self
            .es
            .send(reqwest::Method::POST, "_search", &[], Some(&body))
            .await?;
        if let Some(id) = answer["pit_id"].as_str() {
            self.id = id.to_owned();
        }
        let hits = match answer["hits"]["hits"].take() {
            Value::Array(hits) => hits,
            _ => Vec::new(),
        };
        self.after = hits.last().map(|h| h["sort"].clone());
        Ok(hits)
    }

    /// Closes it, best effort: an unclosed one expires with its keep_alive.
    pub async fn close(self) {
        let _ = self
            .es
            .send(
                reqwest::Method::DELETE,
                "_pit",
                &[],
                Some(&serde_json::json!({ "id": self.id })),
            )
            .await;
    }
}
