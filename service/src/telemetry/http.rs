//! The per-request telemetry layer: one server span named "{method} {route}"
//! with the HTTP semantic-convention attributes, the two HTTP metrics, the
//! request facts current while it runs (for log stamping), one access log
//! record (`access_log`), and the `traceparent` response header.
//!
//! At the response only the header is set and the duration read; the records are
//! made after the response is written, when the worker goes idle
//! (`after_response`).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::HeaderName;
use axum::response::Response;
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::StringValue;
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::access_log::{Access, CANCELLED};
use super::after_response;
use super::exemplars::{Sampled, SeriesKey};
use super::metrics::*;
use super::pii;
use super::propagation::{extract_parent, traceparent};
use super::request_context::{self, parse_user_id, RequestFacts, USER_ID};
use super::request_id::RequestId;
use super::route::{method_index, route_of, Route, METHODS};
use super::server_span::{OwnSpan, SpanEnd, SpanStart};
use super::switches;
use super::tracer::{SpanApi, SPAN_TARGET};
use super::unix_nanos::UnixNanos;
use super::TelemetryHandle;
use crate::error::ErrorType;

const TRACEPARENT_HEADER: HeaderName = HeaderName::from_static("traceparent");

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

/// The telemetry layer (composed in `startup::router`): wraps every request in an
/// [`InFlight`] guard.
#[derive(Clone)]
pub struct ObserveLayer {
    telemetry: TelemetryHandle,
}

impl ObserveLayer {
    pub fn new(telemetry: TelemetryHandle) -> Self {
        ObserveLayer { telemetry }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            telemetry: self.telemetry.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    telemetry: TelemetryHandle,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was polled ready serves this request (tower's idiom).
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        let in_flight = InFlight::start(&self.telemetry, &request);
        ObserveFuture {
            inner: ready.call(request),
            in_flight: Some(in_flight),
        }
    }
}

pin_project! {
    /// The inner service's future with the request's telemetry around it: a named
    /// type rather than a boxed `async` block, so no allocation and no copy of the
    /// inner future per request. Dropped unfinished: `InFlight`'s `Drop` records it.
    pub struct ObserveFuture<F> {
        #[pin]
        inner: F,
        in_flight: Option<InFlight>,
    }
}

impl<F> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, task: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(in_flight) = this.in_flight.as_ref() else {
            // A caller bug (hyper and axum never do it), as in tower-http's futures.
            panic!("ObserveFuture polled after completion");
        };
        // What `Instrumented` and `WithContext` did around each poll: the stdout
        // span entered and the request's OTel context current (the database spans'
        // parent, the logs' trace ids), and its facts current (the logs' request
        // ids, the handlers' project and todo ids).
        let polled = {
            let _attached = in_flight.cx.as_ref().map(|cx| cx.clone().attach());
            let _facts = in_flight.facts.as_ref().map(request_context::enter);
            let _entered = in_flight.stdout.enter();
            this.inner.poll(task)
        };
        let Poll::Ready(Ok(mut response)) = polled else {
            return polled;
        };
        if let Some(in_flight) = this.in_flight.take() {
            in_flight.finish(&mut response);
        }
        Poll::Ready(Ok(response))
    }
}

/// One request from its first byte to its response. [`InFlight::finish`] records
/// it; if the request is dropped before (client gone, shutdown grace over), `Drop`
/// still ends the span, records the duration with `error.type=cancelled` and
/// decrements `http.server.active_requests`, so none of them leaks.
struct InFlight {
    telemetry: TelemetryHandle,
    started: Instant,
    method_i: usize,
    route: Arc<Route>,
    path: Arc<str>,
    /// The request's OTel context (its span); None with telemetry off.
    cx: Option<opentelemetry::Context>,
    /// What the request knows about itself; None with telemetry off.
    facts: Option<Arc<RequestFacts>>,
    /// How the server span ends (see [`ServerSpan`]).
    span: ServerSpan,
    stdout: tracing::Span,
    done: bool,
}

impl InFlight {
    fn start(telemetry: &TelemetryHandle, request: &Request) -> InFlight {
        let started = Instant::now();
        let method_i = method_index(request.method());
        let route = route_of(request);
        // One allocation, shared by the span attribute and the access log.
        let path: Arc<str> = Arc::from(pii::mask(request.uri().path()).as_ref());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(RequestId::generate);
        let (cx, facts, span) = match telemetry.otel() {
            Some(otel) => {
                let (cx, facts, span) =
                    start_span(otel, request, method_i, &route, &path, &request_id);
                (Some(cx), Some(facts), span)
            }
            None => (None, None, ServerSpan::Unsampled),
        };
        let stdout = stdout_span(telemetry, &request_id, cx.as_ref());
        InFlight {
            telemetry: telemetry.clone(),
            started,
            method_i,
            route,
            path,
            cx,
            facts,
            span,
            stdout,
            done: false,
        }
    }

    /// Records the request's end once, `duration` after its start (one clock read
    /// for the span, the duration metric and the access log alike). `status` None:
    /// dropped before a response.
    fn end(&mut self, status: Option<u16>, error_type: Option<StringValue>, duration: Duration) {
        let elapsed = duration.as_secs_f64();
        let cx = self.cx.take();
        // The request's end as a wall-clock time, derived once for the exemplar and
        // the access record: a sampled lean span knows its start, else the clock.
        let ended_at = cx.as_ref().map(|_| match &self.span {
            ServerSpan::Own(own) => own.ends_at(duration),
            _ => UnixNanos::now(),
        });
        if let (Some(otel), Some(cx), Some(time)) = (self.telemetry.otel(), &cx, ended_at) {
            let span = cx.span();
            let exemplar = self.facts.as_deref().map(|facts| Sampled {
                span: span.span_context(),
                request_id: &facts.request_id,
                time,
            });
            let key = SeriesKey::new(&self.route, self.method_i, status, error_type.as_ref());
            let labels = DurationLabels {
                method: METHODS[self.method_i],
                route: &self.route.template,
                status,
                error_type: error_type.as_ref(),
            };
            otel.http.request_finished(
                self.method_i,
                elapsed,
                (key, &self.route),
                labels,
                exemplar,
            );
        }
        let access = Access {
            method: METHODS[self.method_i],
            route: &self.route,
            name: self.route.span_name(self.method_i),
            path: &self.path,
            status,
            duration_ms: elapsed * 1e3,
        };
        match cx.zip(ended_at) {
            Some((cx, time)) => {
                let exported = self.telemetry.switches().access_exported(access.name);
                match self.telemetry.otel().and_then(|otel| otel.access.as_ref()) {
                    // The lean path queues the record itself; the event is for stdout.
                    Some(sink) => {
                        let facts = self.facts.as_deref();
                        let record = exported.then(|| access.record(time, &cx, facts));
                        if let Some(record) = record.flatten() {
                            sink.push_access(record);
                        }
                        if self.telemetry.stdout_spans() {
                            self.stdout.in_scope(|| access.event());
                        }
                    }
                    None => {
                        let _attached = cx.clone().attach();
                        let _facts = self.facts.as_ref().map(request_context::enter);
                        if exported {
                            self.stdout.in_scope(|| access.event());
                        } else {
                            // Switched off: stdout still gets the line, the bridge not.
                            switches::without_log_export(|| {
                                self.stdout.in_scope(|| access.event())
                            });
                        }
                    }
                }
                let span = std::mem::replace(&mut self.span, ServerSpan::Unsampled);
                end_span(
                    self.telemetry.otel(),
                    &cx,
                    self.facts.as_deref(),
                    span,
                    status,
                    error_type,
                    duration,
                );
            }
            // Telemetry off: the access log still goes to stdout when enabled.
            None => self.stdout.in_scope(|| access.event()),
        }
        self.done = true;
    }

    /// The response is ready: its `traceparent` header and the request's duration
    /// now, the records after the response is written where the runtime allows it
    /// (`after_response`).
    fn finish(self, response: &mut Response) {
        let status = response.status().as_u16();
        let error_type: Option<StringValue> =
            (status >= 500).then(|| match response.extensions().get::<ErrorType>() {
                Some(ErrorType(kind)) => StringValue::from(*kind),
                None => StringValue::from(status.to_string()),
            });
        if let Some(value) = self
            .cx
            .as_ref()
            .and_then(|cx| traceparent(cx.span().span_context()))
        {
            response.headers_mut().insert(TRACEPARENT_HEADER, value);
        }
        let ended = EndedRequest {
            duration: self.started.elapsed(),
            in_flight: self,
            status,
            error_type,
        };
        after_response::record_when_idle(ended);
    }
}

/// A request answered, its records not yet made (see `after_response`).
pub struct EndedRequest {
    in_flight: InFlight,
    status: u16,
    error_type: Option<StringValue>,
    duration: Duration,
}

impl EndedRequest {
    /// Makes the request's records: its `Drop` does, so none is lost unrecorded.
    pub fn record(self) {
        drop(self);
    }
}

impl Drop for EndedRequest {
    fn drop(&mut self) {
        let error_type = self.error_type.take();
        self.in_flight
            .end(Some(self.status), error_type, self.duration);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.done {
            // Dropped before a response: no status code; error.type says why.
            let duration = self.started.elapsed();
            self.end(None, Some(StringValue::from(CANCELLED)), duration);
        }
    }
}

/// A request's server span, by export path.
enum ServerSpan {
    /// Lean path: our own record, queued as a `ServerSpanRecord` when it ends.
    Own(OwnSpan),
    /// Stock path: the `tracing` span; dropping it makes tracing-opentelemetry end
    /// the OTel span (in the request's context) it stands for.
    Bridged(tracing::Span),
    /// Not sampled (or telemetry off): the context still has ids; nothing to export.
    Unsampled,
}

/// Starts the server span, the request's context and its facts, and counts it active.
fn start_span(
    otel: &super::Otel,
    request: &Request,
    method_i: usize,
    route: &Route,
    path: &Arc<str>,
    request_id: &RequestId,
) -> (opentelemetry::Context, Arc<RequestFacts>, ServerSpan) {
    let method = METHODS[method_i];
    let user_id = request
        .headers()
        .get(&USER_ID)
        .and_then(|v| parse_user_id(v.as_bytes()))
        .map(|raw| pii::pseudonym(&raw));
    let parent = extract_parent(request.headers());
    let name = route.span_name(method_i);
    let start = SpanStart {
        method,
        method_original: (method == "_OTHER").then(|| request.method().as_str().into()),
        route: route.template.clone(),
        path: Arc::clone(path),
        request_id: request_id.shared(),
        user_id: user_id.clone(),
    };
    // Counted active before anything can return: `InFlight` always counts it finished.
    otel.http.request_started(method_i);
    let facts = Arc::new(RequestFacts::new(request_id.clone(), user_id));
    match (super::tracer::get(), &otel.server_spans) {
        (Some(SpanApi::Tracing), _) => {
            let span = tracing::info_span!(
                target: SPAN_TARGET,
                "request",
                otel.name = name,
                otel.kind = "server"
            );
            let _ = span.set_parent(parent);
            for attribute in start.attributes() {
                span.set_attribute(attribute.key, attribute.value);
            }
            // Starts the OTel span.
            let cx = span.context();
            (cx, facts, ServerSpan::Bridged(span))
        }
        (_, Some(spans)) => {
            let (cx, own) = spans.start(&parent, name, start);
            let span = own.map_or(ServerSpan::Unsampled, ServerSpan::Own);
            (cx, facts, span)
        }
        (_, None) => (parent, facts, ServerSpan::Unsampled),
    }
}

/// The span's last attributes (the status code, the ids the handlers learnt, the
/// error), in this order on both paths, and its end.
fn end_span(
    otel: Option<&super::Otel>,
    cx: &opentelemetry::Context,
    facts: Option<&RequestFacts>,
    span: ServerSpan,
    status: Option<u16>,
    error_type: Option<StringValue>,
    elapsed: std::time::Duration,
) {
    let end = SpanEnd {
        status,
        project_id: facts.and_then(RequestFacts::project_id),
        todo_id: facts.and_then(RequestFacts::todo_id),
        error_type,
    };
    match span {
        ServerSpan::Own(own) => {
            if let Some(spans) = otel.and_then(|otel| otel.server_spans.as_ref()) {
                spans.end(own, elapsed, end);
            }
        }
        ServerSpan::Bridged(bridged) => {
            let span = cx.span();
            let error = end.error_type.is_some();
            for attribute in end.attributes() {
                span.set_attribute(attribute);
            }
            if error {
                span.set_status(Status::error(""));
            }
            drop(bridged);
        }
        ServerSpan::Unsampled => {}
    }
}
