//! Count-only decoding for when nothing is captured (benchmarks). These prost messages
//! mirror just the path from an export request down to its spans, log records and data
//! points; every other field is skipped by length without being parsed or allocated.
//! A full decode costs about 2 µs per span with a handful of attributes, which on the
//! benchmark's shared core competes with the load generator; this costs a field walk.
//! Malformed protobuf is still rejected, so this remains a real OTLP receiver.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use tonic::codegen::{http, Body, BoxFuture, Service, StdError};
use tonic::server::{Grpc, NamedService, UnaryService};

use crate::state::State;

/// Any message whose content we only need to count.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Skip {}

/// ExportTraceServiceRequest and ExportLogsServiceRequest share this shape:
/// 1: repeated Resource{Spans,Logs} -> 2: repeated Scope{Spans,Logs} -> 2: repeated item.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceItems {
    #[prost(message, repeated, tag = "1")]
    pub resources: Vec<ScopeItems>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ScopeItems {
    #[prost(message, repeated, tag = "2")]
    pub scopes: Vec<Items>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Items {
    #[prost(message, repeated, tag = "2")]
    pub items: Vec<Skip>,
}

impl ResourceItems {
    pub fn count(&self) -> u64 {
        self.resources
            .iter()
            .flat_map(|r| &r.scopes)
            .map(|s| s.items.len() as u64)
            .sum()
    }
}

/// ExportMetricsServiceRequest: resource (1) -> scope (2) -> metric (2) -> one of the
/// data kinds (gauge 5, sum 7, histogram 9, exponential histogram 10, summary 11), each
/// holding its data points at tag 1.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricsRequest {
    #[prost(message, repeated, tag = "1")]
    pub resources: Vec<MetricsResource>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricsResource {
    #[prost(message, repeated, tag = "2")]
    pub scopes: Vec<MetricsScope>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricsScope {
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<MetricPoints>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricPoints {
    #[prost(message, optional, tag = "5")]
    pub gauge: Option<Points>,
    #[prost(message, optional, tag = "7")]
    pub sum: Option<Points>,
    #[prost(message, optional, tag = "9")]
    pub histogram: Option<Points>,
    #[prost(message, optional, tag = "10")]
    pub exponential_histogram: Option<Points>,
    #[prost(message, optional, tag = "11")]
    pub summary: Option<Points>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Points {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<Skip>,
}

impl MetricsRequest {
    pub fn count(&self) -> u64 {
        self.resources
            .iter()
            .flat_map(|r| &r.scopes)
            .flat_map(|s| &s.metrics)
            .map(|m| {
                [
                    &m.gauge,
                    &m.sum,
                    &m.histogram,
                    &m.exponential_histogram,
                    &m.summary,
                ]
                .into_iter()
                .flatten()
                .map(|p| p.data_points.len() as u64)
                .sum::<u64>()
            })
            .sum()
    }
}

/// One OTLP signal served by a lean gRPC service.
pub(crate) trait Signal: Send + Sync + 'static {
    const SERVICE: &'static str;
    type Request: prost::Message + Default + Send + 'static;
    type Response: prost::Message + Default + Send + 'static;
    fn record(state: &State, req: &Self::Request);
}

pub(crate) struct TraceSignal;
pub(crate) struct LogsSignal;
pub(crate) struct MetricsSignal;

impl Signal for TraceSignal {
    const SERVICE: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    type Request = ResourceItems;
    type Response = ExportTraceServiceResponse;
    fn record(state: &State, req: &ResourceItems) {
        state.counters.add_traces(req.count());
    }
}

impl Signal for LogsSignal {
    const SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    type Request = ResourceItems;
    type Response = ExportLogsServiceResponse;
    fn record(state: &State, req: &ResourceItems) {
        state.counters.add_logs(req.count());
    }
}

impl Signal for MetricsSignal {
    const SERVICE: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
    type Request = MetricsRequest;
    type Response = ExportMetricsServiceResponse;
    fn record(state: &State, req: &MetricsRequest) {
        state.counters.add_metrics(req.count());
    }
}

/// A gRPC service in the shape tonic's code generator produces, minus the full decode.
pub(crate) struct LeanService<S> {
    state: Arc<State>,
    max_message: usize,
    _signal: PhantomData<fn() -> S>,
}

impl<S> LeanService<S> {
    pub(crate) fn new(state: Arc<State>, max_message: usize) -> Self {
        LeanService {
            state,
            max_message,
            _signal: PhantomData,
        }
    }
}

impl<S> Clone for LeanService<S> {
    fn clone(&self) -> Self {
        Self::new(self.state.clone(), self.max_message)
    }
}

impl<S: Signal> NamedService for LeanService<S> {
    const NAME: &'static str = S::SERVICE;
}

struct Export<S>(Arc<State>, PhantomData<fn() -> S>);

impl<S: Signal> UnaryService<S::Request> for Export<S> {
    type Response = S::Response;
    type Future = std::future::Ready<Result<tonic::Response<S::Response>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<S::Request>) -> Self::Future {
        S::record(&self.0, request.get_ref());
        std::future::ready(Ok(tonic::Response::new(S::Response::default())))
    }
}

impl<S, B> Service<http::Request<B>> for LeanService<S>
where
    S: Signal,
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let state = self.state.clone();
        let max = self.max_message;
        // The router already matched the service name; only Export exists below it.
        let is_export = req.uri().path().ends_with("/Export");
        Box::pin(async move {
            if !is_export {
                return Ok(tonic::Status::unimplemented("only Export").into_http());
            }
            let codec = tonic_prost::ProstCodec::<S::Response, S::Request>::default();
            let mut grpc = Grpc::new(codec).apply_max_message_size_config(Some(max), None);
            Ok(grpc.unary(Export::<S>(state, PhantomData), req).await)
        })
    }
}
