//! API errors and their JSON bodies. Every client error names the problem and,
//! where there is one, the field; a client error is never a 5xx.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::panic_message::panic_message;

/// Extension put on 5xx responses so the telemetry layer can set `error.type`.
#[derive(Debug, Clone, Copy)]
pub struct ErrorType(pub &'static str);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    InvalidField { field: String, message: String },
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("request body must be a JSON object")]
    NotAnObject,
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("request headers are larger than {limit} bytes")]
    HeadersTooLarge { limit: usize },
    #[error("{resource} {id} not found")]
    NotFound { resource: &'static str, id: String },
    #[error("no route for {method} {path}")]
    NoRoute { method: String, path: String },
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("request body not received within {seconds} s")]
    BodyTimeout { seconds: u64 },
    #[error("invalid {field} in path: {value:?} is not a positive integer")]
    InvalidPathId { field: &'static str, value: String },
    #[error("missing or wrong admin token")]
    Unauthorized,
    #[error("admin endpoints are disabled (ALERTINGSCOUT_ADMIN_TOKEN is unset)")]
    AdminDisabled,
    #[error("injected fault")]
    InjectedFault,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
    /// A handler panicked (caught in `startup::router`); the payload is logged,
    /// never sent to the client.
    #[error("internal error")]
    Panicked(String),
}

impl ApiError {
    /// The 500 for a caught panic (tower-http's CatchPanicLayer hands us its payload).
    pub fn from_panic(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
        ApiError::Panicked(panic_message(payload.as_ref())).into_response()
    }
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::InvalidJson(_) | ApiError::NotAnObject | ApiError::InvalidPathId { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::NotFound { .. } | ApiError::NoRoute { .. } | ApiError::AdminDisabled => {
                StatusCode::NOT_FOUND
            }
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::InjectedFault | ApiError::Internal(_) | ApiError::Panicked(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// Stable machine-readable code for the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidField { .. } => "invalid_field",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::NotAnObject => "invalid_body",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::HeadersTooLarge { .. } => "headers_too_large",
            ApiError::NotFound { .. } => "not_found",
            ApiError::NoRoute { .. } => "no_route",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::BodyTimeout { .. } => "request_timeout",
            ApiError::InvalidPathId { .. } => "invalid_path_parameter",
            ApiError::Unauthorized => "unauthorized",
            ApiError::AdminDisabled => "not_found",
            ApiError::InjectedFault => "injected_fault",
            ApiError::Internal(_) => "internal_error",
            ApiError::Panicked(_) => "panic",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::InvalidField { field, .. } => Some(field),
            ApiError::NotFound { .. } => Some("id"),
            ApiError::InvalidPathId { field, .. } => Some(field),
            ApiError::PayloadTooLarge { .. }
            | ApiError::InvalidJson(_)
            | ApiError::NotAnObject
            | ApiError::BodyTimeout { .. } => Some("body"),
            ApiError::UnsupportedMediaType => Some("content-type"),
            ApiError::HeadersTooLarge { .. } => Some("headers"),
            ApiError::Unauthorized => Some("authorization"),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // The code doubles as `exception.type` and `error.type` of a 5xx.
        let kind = self.code();
        if status.is_server_error() {
            // The one place server faults are logged, with the exception.*
            // fields of the semantic conventions (the ECS mapping reads them).
            // Capturing a stack costs tens of µs: only on 5xx.
            let stack = std::backtrace::Backtrace::force_capture();
            let message = match &self {
                ApiError::Internal(err) => format!("{err:#}"),
                ApiError::Panicked(payload) => format!("handler panicked: {payload}"),
                other => other.to_string(),
            };
            // Messages can echo input (a database error quoting a value).
            let message = crate::telemetry::pii::mask(&message);
            tracing::error!(
                exception.type = kind,
                exception.message = %message,
                exception.stacktrace = %stack,
                "request failed with a server error"
            );
        }
        let mut body = json!({ "code": kind, "message": self.to_string() });
        if let Some(field) = self.field() {
            body["field"] = json!(field);
        }
        let mut response = (status, Json(json!({ "error": body }))).into_response();
        if status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body may still be on its way: the connection
            // cannot carry another request.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        if status.is_server_error() {
            response.extensions_mut().insert(ErrorType(kind));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_are_never_5xx_and_name_their_field() {
        let cases = [
            (ApiError::invalid("name", "too long"), 422, Some("name")),
            (ApiError::InvalidJson("eof".into()), 400, Some("body")),
            (ApiError::UnsupportedMediaType, 415, Some("content-type")),
            (ApiError::PayloadTooLarge { limit: 10 }, 413, Some("body")),
            (
                ApiError::HeadersTooLarge { limit: 10 },
                431,
                Some("headers"),
            ),
            (
                ApiError::NotFound {
                    resource: "project",
                    id: "7".into(),
                },
                404,
                Some("id"),
            ),
            (
                ApiError::InvalidPathId {
                    field: "project_id",
                    value: "x".into(),
                },
                400,
                Some("project_id"),
            ),
            (ApiError::BodyTimeout { seconds: 1 }, 408, Some("body")),
            (
                ApiError::MethodNotAllowed {
                    method: "PUT".into(),
                    path: "/projects".into(),
                },
                405,
                None,
            ),
        ];
        for (err, status, field) in cases {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
            assert_eq!(err.field(), field, "{err:?}");
        }
    }

    #[test]
    fn server_errors_carry_an_error_type() {
        let response = ApiError::Internal(anyhow::anyhow!("disk full")).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let error_type = response.extensions().get::<ErrorType>().map(|e| e.0);
        assert_eq!(error_type, Some("internal_error"));
    }
}
