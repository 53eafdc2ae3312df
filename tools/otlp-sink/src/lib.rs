//! A fast, real OTLP receiver for tests and benchmarks.
//!
//! `Sink::start` serves OTLP/gRPC and OTLP/HTTP (protobuf) on ephemeral loopback ports,
//! counts spans, log records and metric data points with atomics, and optionally keeps
//! every request for contract tests. Dropping the `Sink` shuts both servers down.

mod capture;
mod counts;
mod grpc;
mod http;
pub mod lean;
mod state;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use counts::{data_point_count, log_record_count, span_count, Counts};
pub use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
pub use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use state::State;

/// A running receiver. Both servers stop when it is dropped (or on [`Sink::shutdown`]).
pub struct Sink {
    state: Arc<State>,
    grpc_addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    // Dropping a sender resolves the matching server's shutdown future.
    stop: Vec<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sink {
    /// gRPC and HTTP each on their own ephemeral port of 127.0.0.1.
    pub async fn start(capture: bool) -> std::io::Result<Sink> {
        let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self::start_on(any, Some(any), capture).await
    }

    /// Binds before returning, so a port clash is reported here and the endpoints are
    /// accepting connections as soon as this resolves. Must run inside a Tokio runtime.
    pub async fn start_on(
        grpc: SocketAddr,
        http: Option<SocketAddr>,
        capture: bool,
    ) -> std::io::Result<Sink> {
        let state = Arc::new(State::new(capture));
        let grpc_listener = TcpListener::bind(grpc).await?;
        let grpc_addr = grpc_listener.local_addr()?;
        let http_listener = match http {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let http_addr = match &http_listener {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };

        let mut stop = Vec::new();
        let mut tasks = Vec::new();

        let (tx, rx) = oneshot::channel::<()>();
        stop.push(tx);
        let st = state.clone();
        tasks.push(tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = grpc::serve(grpc_listener, st, shutdown).await {
                eprintln!("otlp-sink: gRPC server stopped: {e}");
            }
        }));

        if let Some(listener) = http_listener {
            let (tx, rx) = oneshot::channel::<()>();
            stop.push(tx);
            let st = state.clone();
            tasks.push(tokio::spawn(async move {
                let shutdown = async {
                    let _ = rx.await;
                };
                http::serve(listener, st, shutdown).await;
            }));
        }

        Ok(Sink {
            state,
            grpc_addr,
            http_addr,
            stop,
            tasks,
        })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// For OTEL_EXPORTER_OTLP_ENDPOINT with protocol grpc.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// Base URL; the signal paths /v1/traces, /v1/logs, /v1/metrics go below it.
    pub fn http_endpoint(&self) -> Option<String> {
        self.http_addr.map(|a| format!("http://{a}"))
    }

    pub fn counts(&self) -> Counts {
        self.state.counters.snapshot()
    }

    /// Every trace export request received so far (empty unless started with capture).
    pub fn traces(&self) -> Vec<ExportTraceServiceRequest> {
        self.state.capture.all_traces()
    }

    pub fn logs(&self) -> Vec<ExportLogsServiceRequest> {
        self.state.capture.all_logs()
    }

    pub fn metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        self.state.capture.all_metrics()
    }

    /// Polls every 10 ms until `pred` holds (true) or `timeout` passes (false). Exporters
    /// work in batches on their own schedule, so tests wait for an outcome, not a time.
    pub async fn wait_for(&self, pred: impl Fn(&Counts) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.counts()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops both servers and waits for them to finish.
    pub async fn shutdown(mut self) {
        self.stop.clear();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // Dropping the senders is the shutdown signal; the tasks end on their own.
        self.stop.clear();
    }
}

/// A [`Sink`] on a runtime of its own (one worker thread, named `otlp-sink`), for
/// callers that block, such as a load generator: it answers exports while they do.
/// Threads inherit the caller's CPU affinity, so pin before starting it.
pub struct Background {
    sink: Option<Sink>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Background {
    /// gRPC on an ephemeral port of 127.0.0.1, and OTLP/HTTP on another with `http`.
    pub fn start(http: bool) -> std::io::Result<Background> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otlp-sink")
            .enable_all()
            .build()?;
        let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let sink = runtime.block_on(Sink::start_on(any, http.then_some(any), false))?;
        Ok(Background {
            sink: Some(sink),
            runtime: Some(runtime),
        })
    }
}

impl std::ops::Deref for Background {
    type Target = Sink;
    fn deref(&self) -> &Sink {
        // Taken only in drop.
        self.sink.as_ref().expect("the sink lives until drop")
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // The servers first (their shutdown signal), then the runtime without waiting:
        // an exporter still connected must not hold the caller up.
        drop(self.sink.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests;
