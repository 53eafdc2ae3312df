//! OTLP/HTTP with binary protobuf bodies: POST /v1/traces, /v1/logs, /v1/metrics.
//! JSON encoding and compression are not supported; they get 415 so a misconfigured
//! exporter fails loudly instead of silently counting nothing.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::{DecodeError, Message};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::lean::{MetricsRequest, ResourceItems};
use crate::state::State;

/// Same reasoning as the gRPC limit: never refuse a big batch from a benchmark.
const MAX_BODY: usize = 256 * 1024 * 1024;
const PROTOBUF: &str = "application/x-protobuf";

/// Accepts connections until `shutdown` resolves; open connections are aborted then
/// (dropping the JoinSet), which is what a test harness wants from Drop.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    shutdown: impl Future<Output = ()>,
) {
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            // Reap finished connections so the set does not grow without bound.
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Transient accept errors (EMFILE, aborted handshakes) must not stop the sink.
                Err(_) => continue,
            },
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        conns.spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::POST {
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, Bytes::new()));
    }
    let protobuf = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROTOBUF));
    let plain = req
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.eq_ignore_ascii_case("identity"));
    if !protobuf || !plain {
        return Ok(reply(StatusCode::UNSUPPORTED_MEDIA_TYPE, Bytes::new()));
    }
    let path = req.uri().path().to_owned();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(reply(StatusCode::PAYLOAD_TOO_LARGE, Bytes::new())),
    };
    let encoded = if state.capturing() {
        full(&state, &path, body)
    } else {
        lean(&state, &path, body)
    };
    let Some(encoded) = encoded else {
        return Ok(reply(StatusCode::NOT_FOUND, Bytes::new()));
    };
    Ok(match encoded {
        Ok(bytes) => reply(StatusCode::OK, Bytes::from(bytes)),
        Err(e) => reply(StatusCode::BAD_REQUEST, Bytes::from(e.to_string())),
    })
}

/// Decodes into the real OTLP types and keeps them. None: unknown path.
fn full(state: &State, path: &str, body: Bytes) -> Option<Result<Vec<u8>, DecodeError>> {
    Some(match path {
        "/v1/traces" => ExportTraceServiceRequest::decode(body).map(|r| {
            state.traces(r);
            ExportTraceServiceResponse::default().encode_to_vec()
        }),
        "/v1/logs" => ExportLogsServiceRequest::decode(body).map(|r| {
            state.logs(r);
            ExportLogsServiceResponse::default().encode_to_vec()
        }),
        "/v1/metrics" => ExportMetricsServiceRequest::decode(body).map(|r| {
            state.metrics(r);
            ExportMetricsServiceResponse::default().encode_to_vec()
        }),
        _ => return None,
    })
}

/// Count-only decoding (see lean.rs).
fn lean(state: &State, path: &str, body: Bytes) -> Option<Result<Vec<u8>, DecodeError>> {
    Some(match path {
        "/v1/traces" => ResourceItems::decode(body).map(|r| {
            state.counters.add_traces(r.count());
            ExportTraceServiceResponse::default().encode_to_vec()
        }),
        "/v1/logs" => ResourceItems::decode(body).map(|r| {
            state.counters.add_logs(r.count());
            ExportLogsServiceResponse::default().encode_to_vec()
        }),
        "/v1/metrics" => MetricsRequest::decode(body).map(|r| {
            state.counters.add_metrics(r.count());
            ExportMetricsServiceResponse::default().encode_to_vec()
        }),
        _ => return None,
    })
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    if status == StatusCode::OK {
        resp.headers_mut().insert(
            CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(PROTOBUF),
        );
    }
    resp
}
