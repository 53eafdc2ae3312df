//! A small Prometheus HTTP API client (reqwest): instant and range queries,
//! series, label values and build info, with typed answers ([`response`]) and
//! errors that name the query they are about.
//!
//! Requests are form-encoded POSTs, which every one of these endpoints accepts,
//! so long dashboard queries never hit a URL length limit.

pub mod response;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

pub use response::{InstantValue, Labels, QueryData, Sample, Series};

#[derive(Debug, thiserror::Error)]
pub enum PromError {
    #[error("Prometheus at {base} did not answer {what}: {message}")]
    Unreachable {
        base: String,
        what: String,
        message: String,
    },
    #[error("Prometheus refused {what}: {error_type}: {message}")]
    Refused {
        what: String,
        error_type: String,
        message: String,
    },
    #[error("Prometheus answered HTTP {status} to {what}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },
    #[error("Prometheus's answer to {what} does not parse: {message}")]
    Decode { what: String, message: String },
}

#[derive(Debug, Clone)]
pub struct Prometheus {
    client: reqwest::Client,
    base: Url,
}

impl Prometheus {
    /// `timeout` bounds each request whole, connecting included.
    pub fn new(base: Url, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Prometheus { client, base })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `/api/v1/query` at `at`.
    pub async fn query(&self, expr: &str, at: DateTime<Utc>) -> Result<QueryData, PromError> {
        let what = format!("query `{expr}`");
        self.post(
            "api/v1/query",
            &[("query", expr.to_owned()), ("time", seconds(at))],
            &what,
        )
        .await
    }

    /// `/api/v1/query_range` over [start, end] every `step`.
    pub async fn query_range(
        &self,
        expr: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
    ) -> Result<QueryData, PromError> {
        self.range(expr, start, end, step).await
    }

    /// `query_range`'s `data` exactly as Prometheus sent it (`resultType`,
    /// `result`), for files that keep the raw answer; decode it with
    /// `serde_json::from_value::<QueryData>`.
    pub async fn query_range_json(
        &self,
        expr: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
    ) -> Result<serde_json::Value, PromError> {
        self.range(expr, start, end, step).await
    }

    async fn range<T: DeserializeOwned>(
        &self,
        expr: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
    ) -> Result<T, PromError> {
        let what = format!("range query `{expr}`");
        self.post(
            "api/v1/query_range",
            &[
                ("query", expr.to_owned()),
                ("start", seconds(start)),
                ("end", seconds(end)),
                ("step", format!("{}", step.as_secs_f64())),
            ],
            &what,
        )
        .await
    }

    /// `/api/v1/series`: the label sets of the series any of `matchers` selects.
    pub async fn series(
        &self,
        matchers: &[&str],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Labels>, PromError> {
        let what = format!("series {}", matchers.join(", "));
        let mut form = vec![("start", seconds(start)), ("end", seconds(end))];
        form.extend(matchers.iter().map(|m| ("match[]", (*m).to_owned())));
        self.post("api/v1/series", &form, &what).await
    }

    /// `/api/v1/label/{label}/values`, of the series `matchers` selects (all when empty).
    pub async fn label_values(
        &self,
        label: &str,
        matchers: &[&str],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<String>, PromError> {
        let what = if matchers.is_empty() {
            format!("label values of {label}")
        } else {
            format!("label values of {label} in {}", matchers.join(", "))
        };
        let mut params = vec![("start", seconds(start)), ("end", seconds(end))];
        params.extend(matchers.iter().map(|m| ("match[]", (*m).to_owned())));
        // This endpoint takes GET only; label names are [a-zA-Z0-9_], safe in a path.
        let mut url = self.endpoint(&format!("api/v1/label/{label}/values"));
        url.query_pairs_mut().extend_pairs(params);
        let request = self.client.get(url);
        self.send(request, &what).await
    }

    /// `/api/v1/status/buildinfo`'s version: a cheap "is it there" that also says what it is.
    pub async fn version(&self) -> Result<String, PromError> {
        #[derive(Deserialize)]
        struct BuildInfo {
            version: String,
        }
        let request = self.client.get(self.endpoint("api/v1/status/buildinfo"));
        let info: BuildInfo = self.send(request, "the build info request").await?;
        Ok(info.version)
    }

    /// `/api/v1/status/{name}`'s `data` as JSON (`tsdb`, `config`, `flags`, ...).
    pub async fn status(&self, name: &str) -> Result<serde_json::Value, PromError> {
        let what = format!("the {name} status request");
        let request = self
            .client
            .get(self.endpoint(&format!("api/v1/status/{name}")));
        self.send(request, &what).await
    }

    fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        // Keep a path prefix (Prometheus behind --web.route-prefix or a proxy).
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}/{path}"));
        url
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, String)],
        what: &str,
    ) -> Result<T, PromError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .client
            .post(self.endpoint(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request, what).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<T, PromError> {
        let unreachable = |e: reqwest::Error| PromError::Unreachable {
            base: self.base.to_string(),
            what: what.to_owned(),
            message: error_chain(&e),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let text = response.text().await.map_err(unreachable)?;
        // Errors come as JSON with 400/422/503; anything else that is not JSON is
        // a proxy or the wrong server, reported with the start of its body.
        let envelope: response::Envelope<T> = match serde_json::from_str(&text) {
            Ok(envelope) => envelope,
            Err(e) if status.is_success() => {
                return Err(PromError::Decode {
                    what: what.to_owned(),
                    message: e.to_string(),
                })
            }
            Err(_) => {
                return Err(PromError::Status {
                    what: what.to_owned(),
                    status: status.as_u16(),
                    body: text.chars().take(300).collect(),
                })
            }
        };
        match (envelope.status.as_str(), envelope.data) {
            ("success", Some(data)) => Ok(data),
            ("success", None) => Err(PromError::Decode {
                what: what.to_owned(),
                message: "no data in a successful answer".to_owned(),
            }),
            _ => Err(PromError::Refused {
                what: what.to_owned(),
                error_type: envelope.error_type.unwrap_or_else(|| "error".to_owned()),
                message: envelope.error.unwrap_or_default(),
            }),
        }
    }
}

/// Prometheus takes RFC 3339 or epoch seconds; fractional seconds keep millisecond precision.
fn seconds(t: DateTime<Utc>) -> String {
    format!("{:.3}", t.timestamp_millis() as f64 / 1000.0)
}

/// reqwest's top-level message ("error sending request") hides the cause.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests;
