//! Low-cardinality request labels: the matched route template (never the raw
//! path) and the method, normalised as the HTTP semantic conventions say.

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use opentelemetry::StringValue;

/// The `http.route` of requests that matched no route: one value, so random
/// paths cannot create new series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The route template of a request, e.g. `/projects/{id}`.
pub fn route_of(request: &Request) -> StringValue {
    match request.extensions().get::<MatchedPath>() {
        Some(path) => StringValue::from(path.as_str().to_owned()),
        None => StringValue::from(UNMATCHED_ROUTE),
    }
}

/// `http.request.method`: known methods as is, anything else `_OTHER`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "_OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[test]
    fn unmatched_requests_get_the_fixed_route() {
        let request = Request::builder()
            .uri("/random/123")
            .body(Body::empty())
            .unwrap();
        assert_eq!(route_of(&request).as_str(), UNMATCHED_ROUTE);
    }

    #[test]
    fn odd_methods_are_folded() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let odd = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method_label(&odd), "_OTHER");
    }
}
