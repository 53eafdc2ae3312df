//! The request id: taken from `x-request-id` when it is 1-128 characters of
//! `[A-Za-z0-9._-]` and nothing the PII masks would change (`telemetry::pii`),
//! otherwise a fresh UUIDv7 (time-ordered, so ids sort by
//! arrival). Anything else a client sends is replaced, never echoed: an
//! unchecked id is a log-injection and cardinality hazard.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
const MAX_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// Accepts a client-supplied id if it is well formed.
    pub fn parse(raw: &[u8]) -> Option<RequestId> {
        header_token(raw, MAX_LEN, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
        })
        // An id shaped like a card number or an API key would put it in every
        // record of the request: replaced like a malformed one.
        .filter(|id| !super::pii::has_pii(id))
        .map(RequestId)
    }

    pub fn generate() -> RequestId {
        let mut buf = uuid::Uuid::encode_buffer();
        let id = uuid::Uuid::now_v7().hyphenated().encode_lower(&mut buf);
        RequestId(Arc::from(&*id))
    }

    pub fn from_request(request: &Request) -> RequestId {
        request
            .headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(|v| RequestId::parse(v.as_bytes()))
            .unwrap_or_else(RequestId::generate)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn shared(&self) -> Arc<str> {
        Arc::clone(&self.0)
    }
}

/// A header value of 1..=`max` bytes, each accepted by `allowed` (which
/// must only accept ASCII), as a shared string.
pub fn header_token(raw: &[u8], max: usize, allowed: impl Fn(u8) -> bool) -> Option<Arc<str>> {
    let valid = !raw.is_empty() && raw.len() <= max && raw.iter().all(|&b| allowed(b));
    valid
        .then(|| std::str::from_utf8(raw).ok())
        .flatten()
        .map(Arc::from)
}

/// Outermost layer: assigns the id before anything else runs (so the trace
/// layer and every log see it) and echoes it on the response.
pub async fn request_id_layer(mut request: Request, next: Next) -> Response {
    let id = RequestId::from_request(&request);
    request.extensions_mut().insert(id.clone());
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_ids_are_kept() {
        for ok in ["abc", "A-1_b.c", &"x".repeat(128), "0"] {
            assert_eq!(
                RequestId::parse(ok.as_bytes()).map(|r| r.as_str().to_owned()),
                Some(ok.to_owned())
            );
        }
    }

    #[test]
    fn malformed_ids_are_replaced() {
        for bad in [
            "",
            "bad id with spaces!",
            &"x".repeat(129),
            "a/b",
            "é",
            "a\nb",
            "{x}",
            "4111111111111111",
            "4111-1111-1111-1111",
            "sk_live_abcdefgh12345678",
        ] {
            assert_eq!(RequestId::parse(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_are_uuid_v7_and_distinct() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(a.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert!(RequestId::parse(a.as_str().as_bytes()).is_some());
    }
}
