//! The per-request telemetry layer: one server span named "{method} {route}"
//! with the HTTP semantic-convention attributes, the two HTTP metrics, the
//! request facts in the OTel context (for log stamping), one access log
//! record, and the `traceparent` response header.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::context::FutureExt;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{KeyValue, StringValue, Value};
use tracing::Instrument;

use super::metrics::*;
use super::propagation::{extract_parent, traceparent};
use super::request_context::{parse_user_id, RequestFacts, USER_ID_HEADER};
use super::request_id::RequestId;
use super::route::{method_index, route_of, METHODS};
use super::TelemetryHandle;
use crate::error::ErrorType;

const TRACEPARENT_HEADER: HeaderName = HeaderName::from_static("traceparent");

/// What the access log says about a finished request.
struct Access<'a> {
    method: &'static str,
    route: &'a str,
    path: &'a str,
    status: u16,
    duration_ms: f64,
}

fn access_log(access: &Access<'_>) {
    // One record per request; the request's ids are added by the log
    // pipeline from the context (see telemetry::logs).
    if access.status >= 500 {
        tracing::error!(
            http.request.method = access.method,
            http.route = access.route,
            url.path = access.path,
            http.response.status_code = access.status,
            duration_ms = access.duration_ms,
            "request failed"
        );
    } else {
        tracing::info!(
            http.request.method = access.method,
            http.route = access.route,
            url.path = access.path,
            http.response.status_code = access.status,
            duration_ms = access.duration_ms,
            "request completed"
        );
    }
}

/// A `tracing` span carrying the ids for the stdout JSON lines; disabled
/// (free) when stdout logging is off, since the OTel records get the ids from
/// the context instead.
fn stdout_span(
    telemetry: &TelemetryHandle,
    request_id: &RequestId,
    cx: Option<&opentelemetry::Context>,
) -> tracing::Span {
    if !telemetry.stdout_spans() {
        return tracing::Span::none();
    }
    let trace_id = cx.map(|cx| cx.span().span_context().trace_id().to_string());
    tracing::info_span!(
        "request",
        request_id = request_id.as_str(),
        trace_id = trace_id.as_deref()
    )
}

pub async fn observe(
    State(telemetry): State<TelemetryHandle>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method_i = method_index(request.method());
    let method = METHODS[method_i];
    let route = route_of(&request);
    // One allocation, shared by the span attribute and the access log.
    let path: Arc<str> = Arc::from(request.uri().path());
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::generate);

    let Some(otel) = telemetry.otel() else {
        // Telemetry off: the access log still goes to stdout when enabled.
        let span = stdout_span(&telemetry, &request_id, None);
        let response = next.run(request).instrument(span.clone()).await;
        let access = Access {
            method,
            route: route.as_str(),
            path: &path,
            status: response.status().as_u16(),
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
        };
        span.in_scope(|| access_log(&access));
        return response;
    };

    let user_id = request
        .headers()
        .get(USER_ID_HEADER)
        .and_then(|v| parse_user_id(v.as_bytes()));
    let parent = extract_parent(request.headers());
    let name = route.span_name(method_i);
    let mut attributes = Vec::with_capacity(10);
    attributes.push(KeyValue::new(HTTP_REQUEST_METHOD, method));
    if method == "_OTHER" {
        attributes.push(KeyValue::new(
            "http.request.method_original",
            request.method().as_str().to_owned(),
        ));
    }
    attributes.push(KeyValue::new(
        HTTP_ROUTE,
        Value::String(route.template.clone()),
    ));
    attributes.push(KeyValue::new("url.path", Value::from(Arc::clone(&path))));
    attributes.push(KeyValue::new(URL_SCHEME, "http"));
    attributes.push(KeyValue::new(
        "request_id",
        Value::from(request_id.shared()),
    ));
    if let Some(user) = &user_id {
        attributes.push(KeyValue::new("user.id", Value::from(user.clone())));
    }
    let span = otel
        .tracer
        .span_builder(name)
        .with_kind(SpanKind::Server)
        .with_attributes(attributes)
        .start_with_context(&otel.tracer, &parent);
    let cx = parent
        .with_span(span)
        .with_value(RequestFacts::new(request_id.clone(), user_id));

    otel.http.request_started(method_i);

    let stdout = stdout_span(&telemetry, &request_id, Some(&cx));
    let mut response = next
        .run(request)
        .with_context(cx.clone())
        .instrument(stdout.clone())
        .await;

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let error_type: Option<StringValue> =
        (status >= 500).then(|| match response.extensions().get::<ErrorType>() {
            Some(ErrorType(kind)) => StringValue::from(*kind),
            None => StringValue::from(status.to_string()),
        });

    let mut labels = Vec::with_capacity(4);
    labels.push(KeyValue::new(HTTP_REQUEST_METHOD, method));
    labels.push(KeyValue::new(
        HTTP_ROUTE,
        Value::String(route.template.clone()),
    ));
    labels.push(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status)));
    if let Some(kind) = &error_type {
        labels.push(KeyValue::new(ERROR_TYPE, Value::String(kind.clone())));
    }
    otel.http
        .request_finished(method_i, elapsed.as_secs_f64(), &labels);

    let span = cx.span();
    if let Some(value) = traceparent(span.span_context()) {
        response.headers_mut().insert(TRACEPARENT_HEADER, value);
    }
    {
        let _attached = cx.clone().attach();
        stdout.in_scope(|| {
            access_log(&Access {
                method,
                route: route.as_str(),
                path: &path,
                status,
                duration_ms: elapsed.as_secs_f64() * 1e3,
            })
        });
    }
    span.set_attribute(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status)));
    if let Some(facts) = cx.get::<RequestFacts>() {
        if let Some(id) = facts.project_id() {
            span.set_attribute(KeyValue::new("project.id", id));
        }
        if let Some(id) = facts.todo_id() {
            span.set_attribute(KeyValue::new("todo.id", id));
        }
    }
    if let Some(kind) = error_type {
        span.set_attribute(KeyValue::new(ERROR_TYPE, Value::String(kind)));
        span.set_status(Status::error(""));
    }
    span.end();
    response
}
