//! OTLP/gRPC: the three collector services on one tonic server. Capturing sinks decode
//! requests fully (tests inspect them); counting sinks use the lean services.

use std::future::Future;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::lean::{LeanService, LogsSignal, MetricsSignal, TraceSignal};
use crate::state::State;

/// Exporters batch up to thousands of records; tonic's 4 MiB default would reject the
/// large batches a benchmark produces, which would look like dropped telemetry.
pub(crate) const MAX_MESSAGE: usize = 256 * 1024 * 1024;

#[derive(Clone)]
struct Receiver(Arc<State>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.0.traces(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.0.logs(request.into_inner());
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.0.metrics(request.into_inner());
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// Serves until `shutdown` resolves. The listener is bound by the caller so that the port
/// is known (and errors surface) before this task starts.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    // BDP-based flow-control windows, as the Collector's Go gRPC server has: a fixed
    // 64 KiB window turns every large export into several round trips.
    let mut builder = tonic::transport::Server::builder().http2_adaptive_window(Some(true));
    if state.capturing() {
        let rx = Receiver(state);
        builder
            .add_service(TraceServiceServer::new(rx.clone()).max_decoding_message_size(MAX_MESSAGE))
            .add_service(LogsServiceServer::new(rx.clone()).max_decoding_message_size(MAX_MESSAGE))
            .add_service(MetricsServiceServer::new(rx).max_decoding_message_size(MAX_MESSAGE))
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
    } else {
        builder
            .add_service(LeanService::<TraceSignal>::new(state.clone(), MAX_MESSAGE))
            .add_service(LeanService::<LogsSignal>::new(state.clone(), MAX_MESSAGE))
            .add_service(LeanService::<MetricsSignal>::new(state, MAX_MESSAGE))
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
    }
}
