//! Extractors that turn bad input into named 4xx errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde_json::Value;

use super::AppState;
use crate::domain::Id;
use crate::error::ApiError;
use crate::telemetry::request_context::{parse_user_id, USER_ID, USER_ID_HEADER};

/// A JSON body: 415 for another content type, 413 over the limit, 408 when it
/// does not arrive within the body read timeout (a client dribbling it holds
/// a connection and a task otherwise), 400 for malformed JSON. Parsed into a
/// `Value` so the domain types can name each bad field.
pub struct JsonBody(pub Value);

fn is_json(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case("application/json")
        || (mime.len() > 5 && mime.to_ascii_lowercase().ends_with("+json"))
}

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(content_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let read = tokio::time::timeout(state.body_read_timeout, Bytes::from_request(req, state));
        let bytes = read
            .await
            .map_err(|_| ApiError::BodyTimeout {
                seconds: state.body_read_timeout.as_secs(),
            })?
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge {
                        limit: state.max_body_bytes,
                    }
                } else {
                    ApiError::InvalidJson(rejection.body_text())
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::InvalidJson(e.to_string()))
    }
}

/// The id in the path (each route has at most one: `{id}` or `{project_id}`):
/// 400 naming the parameter for anything but a positive integer, a segment
/// that is not UTF-8 once percent-decoded included (axum's own `Path`
/// rejection would be a plain-text 400).
pub struct PathId(pub Id);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let field = match parts.extensions.get::<MatchedPath>() {
            Some(path) if path.as_str().contains("{project_id}") => "project_id",
            _ => "id",
        };
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(raw)) => Id::parse(field, &raw).map(PathId),
            // Both routes keep their id in the second segment; shown as sent.
            Err(_) => Err(ApiError::InvalidPathId {
                field,
                value: parts
                    .uri
                    .path()
                    .split('/')
                    .nth(2)
                    .unwrap_or_default()
                    .chars()
                    .take(64)
                    .collect(),
            }),
        }
    }
}

/// The caller's identity from `x-user-id` (a stand-in for real auth):
/// optional, but when present it must be 1-128 visible ASCII characters.
pub struct Caller(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match parts.headers.get(&USER_ID) {
            None => Ok(Caller(None)),
            Some(raw) => match parse_user_id(raw.as_bytes()) {
                Some(id) => Ok(Caller(Some(id.to_string()))),
                None => Err(ApiError::invalid(
                    USER_ID_HEADER,
                    "must be 1-128 visible ASCII characters",
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }
}
