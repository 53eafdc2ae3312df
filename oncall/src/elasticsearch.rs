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
}

impl Elasticsearch {
    /// `timeout` bounds each search whole, connecting included.
    pub fn new(base: Url, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Elasticsearch { client, base })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `POST {index}/_search` with `body`; a missing index is no hits, not an error.
    pub async fn search(&self, index: &str, body: &Value) -> Result<Value, EsError> {
        let mut url = self.base.clone();
        url.set_path(&format!("{index}/_search"));
        url.query_pairs_mut()
            .append_pair("ignore_unavailable", "true")
            .append_pair("allow_no_indices", "true");
        let response = self
            .client
            .post(url)
            .json(body)
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
}
