//! Low-cardinality request labels: the matched route template (never the raw
//! path) and the method, normalised as the HTTP semantic conventions say.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use opentelemetry::StringValue;
use parking_lot::RwLock;

/// The `http.route` of requests that matched no route: one value, so random
/// paths cannot create new series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The `http.request.method` values, in index order.
pub const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "_OTHER",
];
pub const METHOD_COUNT: usize = METHODS.len();

/// Index into `METHODS`: known methods as is, anything else `_OTHER`.
pub fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::PATCH => 3,
        Method::DELETE => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::CONNECT => 8,
        _ => 9,
    }
}

/// A route template with its span names, built once per route and method.
#[derive(Debug)]
pub struct Route {
    pub template: StringValue,
    span_names: [OnceLock<&'static str>; METHOD_COUNT],
}

impl Route {
    fn new(template: &str) -> Self {
        Route {
            template: StringValue::from(Arc::<str>::from(template)),
            span_names: Default::default(),
        }
    }

    pub fn as_str(&self) -> &str {
        self.template.as_str()
    }

    /// "{method} {route}", or just the method for unmatched requests (as the
    /// HTTP span conventions say). Leaked once per (route, method): both come
    /// from fixed sets, so this is bounded.
    pub fn span_name(&self, method: usize) -> &'static str {
        self.span_names[method].get_or_init(|| {
            let name = if self.as_str() == UNMATCHED_ROUTE {
                METHODS[method].to_owned()
            } else {
                format!("{} {}", METHODS[method], self.as_str())
            };
            Box::leak(name.into_boxed_str())
        })
    }
}

/// Interned routes: the router's templates never change, so each is
/// allocated once instead of per request. The keys are the router's own
/// templates (never a raw path), so a fast non-keyed hash is safe here.
type Routes = RwLock<HashMap<Box<str>, Arc<Route>, rustc_hash::FxBuildHasher>>;

fn routes() -> &'static Routes {
    static ROUTES: OnceLock<Routes> = OnceLock::new();
    ROUTES.get_or_init(Default::default)
}

pub(crate) fn intern(template: &str) -> Arc<Route> {
    if let Some(route) = routes().read().get(template) {
        return Arc::clone(route);
    }
    let mut routes = routes().write();
    Arc::clone(
        routes
            .entry(template.into())
            .or_insert_with(|| Arc::new(Route::new(template))),
    )
}

/// The route template of a request, e.g. `/projects/{id}`.
pub fn route_of(request: &Request) -> Arc<Route> {
    match request.extensions().get::<MatchedPath>() {
        Some(path) => intern(path.as_str()),
        None => intern(UNMATCHED_ROUTE),
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
    fn span_names_are_built_once_per_route_and_method() {
        let route = intern("/projects/{id}");
        let name = route.span_name(method_index(&Method::GET));
        assert_eq!(name, "GET /projects/{id}");
        assert!(std::ptr::eq(name, intern("/projects/{id}").span_name(0)));
        assert_eq!(intern(UNMATCHED_ROUTE).span_name(1), "POST");
    }

    #[test]
    fn odd_methods_are_folded() {
        assert_eq!(METHODS[method_index(&Method::PATCH)], "PATCH");
        let odd = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(METHODS[method_index(&odd)], "_OTHER");
    }
}
