//! Extractors that turn bad input into named 4xx errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde_json::Value;

use super::AppState;
use crate::error::ApiError;
use crate::telemetry::request_context::{parse_user_id, USER_ID, USER_ID_HEADER};

/// A JSON body: 415 for another content type, 413 over the limit, 400 for
/// malformed JSON. Parsed into a `Value` so the domain types can name each
/// bad field.
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
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
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
