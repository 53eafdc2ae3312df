//! Sends encoded OTLP requests over gRPC or OTLP/HTTP (protobuf). gRPC goes
//! through a tonic `Channel` (its lazy connect, reconnects and timeouts) as plain
//! HTTP/2 requests: the payload is already a framed gRPC message, so no codec
//! copies it. Runs on the export thread's own current-thread runtime, so it never
//! touches the application's runtime (the known batch-processor + tonic deadlock).

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, TE};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use prost::Message;
use tonic::transport::{Channel, Endpoint};
use tower::{Service, ServiceExt};

use super::payload::{response_message, Payload};
use super::{PerSignal, Signal};
use crate::telemetry::config::{ExporterConfig, Protocol};

/// The most of a reply read: gRPC's own default limit on a received message. An
/// OTLP reply is a few bytes; an endpoint that answers with more (a misconfigured
/// one serving files) must not grow the export thread's memory for the whole timeout.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// What the receiver said about one export request.
#[derive(Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Records the receiver refused (OTLP partial success).
    pub rejected: u64,
}

/// Sends one encoded export request. [`Transport`] is the real one (gRPC or
/// HTTP); the pipeline's retry, backoff and bounded drop are unit tested against
/// a fake.
pub trait Sender: Send {
    fn send(&self, signal: Signal, payload: &Payload) -> Result<Accepted, String>;
}

impl Sender for Transport {
    fn send(&self, signal: Signal, payload: &Payload) -> Result<Accepted, String> {
        Transport::send(self, signal, payload)
    }
}

enum Client_ {
    /// One channel per signal: per-signal endpoints may differ.
    Grpc(PerSignal<Channel>),
    Http(Client<HttpConnector, Full<Bytes>>),
}

pub struct Transport {
    runtime: tokio::runtime::Runtime,
    client: Client_,
    config: ExporterConfig,
}

impl Transport {
    pub fn new(config: ExporterConfig) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let client = match config.protocol {
            Protocol::Grpc => {
                // The channels' worker tasks live on our runtime.
                let _guard = runtime.enter();
                let channel = |signal: Signal| -> anyhow::Result<Channel> {
                    Ok(Endpoint::from_shared(config.endpoint(signal))?
                        .connect_timeout(config.timeout)
                        .timeout(config.timeout)
                        .tcp_nodelay(true)
                        // Large batches: grow flow-control windows with the
                        // measured bandwidth-delay product.
                        .http2_adaptive_window(true)
                        .connect_lazy())
                };
                Client_::Grpc(PerSignal::try_from_fn(channel)?)
            }
            Protocol::HttpProtobuf => {
                let _guard = runtime.enter();
                Client_::Http(Client::builder(TokioExecutor::new()).build_http())
            }
        };
        Ok(Transport {
            runtime,
            client,
            config,
        })
    }

    /// Sends one encoded request, waiting at most the configured timeout.
    pub fn send(&self, signal: Signal, payload: &Payload) -> Result<Accepted, String> {
        let timeout = self.config.timeout;
        let fut = async {
            match &self.client {
                Client_::Grpc(channels) => {
                    self.send_grpc(channels.get(signal).clone(), signal, payload)
                        .await
                }
                Client_::Http(client) => self.send_http(client, signal, payload.protobuf()).await,
            }
        };
        self.runtime.block_on(async {
            match tokio::time::timeout(timeout, fut).await {
                Ok(result) => result,
                Err(_) => Err(format!("export timed out after {timeout:?}")),
            }
        })
    }

    async fn send_grpc(
        &self,
        mut channel: Channel,
        signal: Signal,
        payload: &Payload,
    ) -> Result<Accepted, String> {
        let mut request = http::Request::post(grpc_path(signal))
            .version(http::Version::HTTP_2)
            .header(CONTENT_TYPE, "application/grpc")
            .header(TE, "trailers");
        for (key, value) in &self.config.headers {
            // As gRPC metadata: a header that is not valid HTTP is left out.
            if let (Ok(key), Ok(value)) = (
                HeaderName::from_bytes(key.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                request = request.header(key, value);
            }
        }
        let request = request
            .body(tonic::body::Body::new(Full::new(payload.grpc_message())))
            .map_err(|e| format!("bad gRPC request: {e}"))?;
        let unreachable = |e: tonic::transport::Error| {
            // The cause says what failed (refused, timed out); the error alone
            // says only "transport error".
            match std::error::Error::source(&e) {
                Some(cause) => format!("collector unreachable: {e}: {cause}"),
                None => format!("collector unreachable: {e}"),
            }
        };
        let response = channel
            .ready()
            .await
            .map_err(unreachable)?
            .call(request)
            .await
            .map_err(unreachable)?;
        let (head, body) = response.into_parts();
        if head.status != http::StatusCode::OK {
            return Err(format!("grpc: HTTP status {}", head.status));
        }
        // An error comes as a trailers-only response: its status is in the headers.
        let ok_in_headers = grpc_status(&head.headers)?;
        let body = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|error| match error.downcast_ref::<tonic::Status>() {
                Some(status) => format!("grpc {:?}: {}", status.code(), status.message()),
                None => format!("reading gRPC response: {}", read_error(error.as_ref())),
            })?;
        match body.trailers() {
            Some(trailers) if grpc_status(trailers)? => {}
            _ if ok_in_headers => {}
            _ => return Err("grpc: a response without grpc-status".into()),
        }
        let body = body.to_bytes();
        let message = response_message(&body).unwrap_or_default();
        Ok(parse_response(signal, message))
    }

    async fn send_http(
        &self,
        client: &Client<HttpConnector, Full<Bytes>>,
        signal: Signal,
        body: Bytes,
    ) -> Result<Accepted, String> {
        let mut request = http::Request::post(self.config.endpoint(signal))
            .header(http::header::CONTENT_TYPE, "application/x-protobuf");
        for (key, value) in &self.config.headers {
            request = request.header(key.as_str(), value.as_str());
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("bad OTLP/HTTP request: {e}"))?;
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("collector unreachable: {e}"))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading OTLP/HTTP response: {}", read_error(e.as_ref())))?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("OTLP/HTTP status {status}"));
        }
        Ok(parse_response(signal, &body))
    }
}

/// Why a reply could not be read, the size limit named in full.
fn read_error(error: &(dyn std::error::Error + Send + Sync + 'static)) -> String {
    if error.is::<LengthLimitError>() {
        format!("reply larger than {MAX_RESPONSE_BYTES} bytes")
    } else {
        error.to_string()
    }
}

/// The gRPC method of each signal's export service.
fn grpc_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    }
}

/// True when `headers` carry grpc-status OK, false when they carry none; the
/// status's code and message when it is an error. Read here, not with tonic's
/// `Status::from_header_map`: that panics on a `grpc-status-details-bin` that is
/// not base64 (tonic 0.14, grpc/grpc-rust#2618), and a panic here would end the
/// export thread and the telemetry with it. The details are not needed; a bad
/// value is ignored, as grpc-go does.
fn grpc_status(headers: &http::HeaderMap) -> Result<bool, String> {
    let Some(code) = headers.get("grpc-status") else {
        return Ok(false);
    };
    let code = tonic::Code::from_bytes(code.as_bytes());
    if code == tonic::Code::Ok {
        return Ok(true);
    }
    // Percent-encoded UTF-8 (gRPC over HTTP/2); a bad escape is kept as it came.
    let message = headers
        .get("grpc-message")
        .map(|value| percent_encoding::percent_decode(value.as_bytes()).decode_utf8_lossy())
        .unwrap_or_default();
    Err(format!("grpc {code:?}: {message}"))
}

/// Reads the partial-success part of an Export*ServiceResponse.
fn parse_response(signal: Signal, body: &[u8]) -> Accepted {
    use opentelemetry_proto::tonic::collector::{logs, metrics, trace};
    let rejected = match signal {
        Signal::Traces => trace::v1::ExportTraceServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_spans as u64),
        Signal::Logs => logs::v1::ExportLogsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_log_records as u64),
        Signal::Metrics => metrics::v1::ExportMetricsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_data_points as u64),
    };
    Accepted {
        rejected: rejected.unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
        TraceService, TraceServiceServer,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
    };
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
    use tonic::{Request, Response, Status};

    use super::*;

    type Answer = Result<ExportTraceServiceResponse, Status>;
    /// A request received, with its `authorization` metadata.
    type Received = (ExportTraceServiceRequest, Option<String>);

    /// A trace receiver answering from a script; keeps what it got and each
    /// request's `authorization` metadata.
    #[derive(Clone, Default)]
    struct Scripted {
        answers: Arc<Mutex<VecDeque<Answer>>>,
        got: Arc<Mutex<Vec<Received>>>,
    }

    #[tonic::async_trait]
    impl TraceService for Scripted {
        async fn export(
            &self,
            request: Request<ExportTraceServiceRequest>,
        ) -> Result<Response<ExportTraceServiceResponse>, Status> {
            let auth = request
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            self.got.lock().unwrap().push((request.into_inner(), auth));
            let answer = self.answers.lock().unwrap().pop_front();
            answer
                .unwrap_or_else(|| Ok(ExportTraceServiceResponse::default()))
                .map(Response::new)
        }
    }

    /// The scripted receiver on an ephemeral port, on a runtime of its own.
    fn serve(answers: Vec<Answer>) -> (Scripted, SocketAddr, tokio::runtime::Runtime) {
        serve_with_header(answers, None)
    }

    /// As `serve`, with `header` added to every response's headers.
    fn serve_with_header(
        answers: Vec<Answer>,
        header: Option<(&'static str, &'static str)>,
    ) -> (Scripted, SocketAddr, tokio::runtime::Runtime) {
        let receiver = Scripted {
            answers: Arc::new(Mutex::new(answers.into())),
            ..Scripted::default()
        };
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let service = TraceServiceServer::new(receiver.clone());
        let add_header = move |mut response: http::Response<tonic::body::Body>| {
            if let Some((name, value)) = header {
                response.headers_mut().insert(
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                );
            }
            response
        };
        runtime.spawn(
            tonic::transport::Server::builder()
                .layer(tower::layer::layer_fn(move |inner| {
                    tower::util::MapResponse::new(inner, add_header)
                }))
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        (receiver, addr, runtime)
    }

    fn grpc_to(addr: SocketAddr) -> Transport {
        Transport::new(ExporterConfig {
            protocol: Protocol::Grpc,
            base_endpoint: format!("http://{addr}"),
            signal_endpoints: [None, None, None],
            timeout: Duration::from_secs(5),
            headers: vec![("authorization".into(), "Bearer t0ken".into())],
        })
        .expect("transport")
    }

    fn request(service: &str) -> ExportTraceServiceRequest {
        let name = KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(service.into())),
            }),
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![name],
                    ..Default::default()
                }),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn a_grpc_export_arrives_as_sent_with_its_headers_and_partial_rejections_are_read() {
        let rejecting = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 2,
                error_message: "too old".into(),
            }),
        };
        let (receiver, addr, _runtime) = serve(vec![Ok(rejecting)]);
        let transport = grpc_to(addr);
        let (first, second) = (request("first"), request("second"));

        let answer = transport.send(Signal::Traces, &Payload::of_message(&first));
        assert_eq!(answer, Ok(Accepted { rejected: 2 }));
        let answer = transport.send(Signal::Traces, &Payload::of_message(&second));
        assert_eq!(answer, Ok(Accepted { rejected: 0 }));

        let got = receiver.got.lock().unwrap().clone();
        let auth = Some("Bearer t0ken".to_owned());
        assert_eq!(got, vec![(first, auth.clone()), (second, auth)]);
    }

    #[test]
    fn a_large_grpc_request_arrives_whole() {
        // About 200 DATA frames, past the flow-control window several times
        // over, and twice on one connection.
        let (receiver, addr, _runtime) = serve(vec![]);
        let transport = grpc_to(addr);
        let large = |seed: u8| {
            let text: String = (0..3_000_000u32)
                .map(|i| char::from(b'a' + (i as u8 ^ seed) % 26))
                .collect();
            request(&text)
        };
        let (first, second) = (large(1), large(2));
        for sent in [&first, &second] {
            let answer = transport.send(Signal::Traces, &Payload::of_message(sent));
            assert_eq!(answer, Ok(Accepted { rejected: 0 }));
        }
        let got: Vec<_> = receiver
            .got
            .lock()
            .unwrap()
            .drain(..)
            .map(|(r, _)| r)
            .collect();
        assert!(got == [first, second], "a request arrived changed");
    }

    #[test]
    fn a_grpc_error_status_is_an_error_naming_its_code_and_message() {
        let (receiver, addr, _runtime) = serve(vec![Err(Status::resource_exhausted(
            "queue is full, retry later",
        ))]);
        let transport = grpc_to(addr);
        let answer = transport.send(Signal::Traces, &Payload::of_message(&request("a")));
        assert_eq!(
            answer,
            Err("grpc ResourceExhausted: queue is full, retry later".into())
        );
        assert_eq!(receiver.got.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_status_detail_that_is_not_base64_is_an_error_not_a_panic() {
        // A trailers-only error whose grpc-status-details-bin no peer should send:
        // tonic's own reader panics on it, which would end the export thread.
        let (receiver, addr, _runtime) = serve_with_header(
            vec![Err(Status::unavailable("draining"))],
            Some(("grpc-status-details-bin", "%%% not base64 %%%")),
        );
        let transport = grpc_to(addr);
        let answer = transport.send(Signal::Traces, &Payload::of_message(&request("a")));
        assert_eq!(answer, Err("grpc Unavailable: draining".into()));
        let answer = transport.send(Signal::Traces, &Payload::of_message(&request("b")));
        assert_eq!(answer, Ok(Accepted { rejected: 0 }));
        assert_eq!(receiver.got.lock().unwrap().len(), 2);
    }

    #[test]
    fn grpc_status_headers_read_as_ok_absent_or_an_error_with_code_and_message() {
        type Case = (
            &'static [(&'static str, &'static str)],
            Result<bool, &'static str>,
        );
        let cases: [Case; 6] = [
            (&[], Ok(false)),
            (&[("grpc-status", "0")], Ok(true)),
            (
                &[("grpc-status", "8"), ("grpc-message", "queue%20is%20full")],
                Err("grpc ResourceExhausted: queue is full"),
            ),
            (
                &[
                    ("grpc-status", "13"),
                    ("grpc-status-details-bin", "not base64!"),
                ],
                Err("grpc Internal: "),
            ),
            (&[("grpc-status", "99")], Err("grpc Unknown: ")),
            // A bad escape is kept as it came rather than failing the read.
            (
                &[("grpc-status", "2"), ("grpc-message", "100%")],
                Err("grpc Unknown: 100%"),
            ),
        ];
        for (headers, expected) in cases {
            let mut map = http::HeaderMap::new();
            for (name, value) in headers {
                map.insert(
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                );
            }
            assert_eq!(
                grpc_status(&map),
                expected.map_err(str::to_owned),
                "{headers:?}"
            );
        }
    }

    #[test]
    fn an_unknown_method_and_a_dead_port_are_errors() {
        // The scripted receiver serves traces only: logs get UNIMPLEMENTED.
        let (_receiver, addr, _runtime) = serve(vec![]);
        let transport = grpc_to(addr);
        let answer = transport.send(Signal::Logs, &Payload::encode(|_| {}));
        let error = answer.expect_err("logs are not served");
        assert!(error.starts_with("grpc Unimplemented"), "{error}");

        let dead = grpc_to(SocketAddr::from(([127, 0, 0, 1], 9)));
        let error = dead
            .send(Signal::Traces, &Payload::encode(|_| {}))
            .expect_err("nothing listens on port 9");
        assert!(error.starts_with("collector unreachable"), "{error}");
    }

    #[test]
    fn a_grpc_reply_past_the_limit_is_an_error_and_is_not_read_whole() {
        let huge = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 1,
                error_message: "x".repeat(2 * MAX_RESPONSE_BYTES),
            }),
        };
        let (_receiver, addr, _runtime) = serve(vec![Ok(huge)]);
        let answer = grpc_to(addr).send(Signal::Traces, &Payload::of_message(&request("a")));
        assert_eq!(
            answer,
            Err(format!(
                "reading gRPC response: reply larger than {MAX_RESPONSE_BYTES} bytes"
            ))
        );
    }

    #[test]
    fn an_otlp_http_reply_past_the_limit_is_an_error_and_is_not_read_whole() {
        use std::io::{Read, Write};
        // An endpoint that serves a large file whatever it is asked.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let size = 4 * MAX_RESPONSE_BYTES;
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
            // The client stops reading at the limit: writes then fail, and fewer
            // bytes than the body leave.
            let chunk = vec![0u8; 64 * 1024];
            let mut written = 0;
            while written < size && stream.write_all(&chunk).is_ok() {
                written += chunk.len();
            }
            written
        });
        let transport = Transport::new(ExporterConfig {
            protocol: Protocol::HttpProtobuf,
            base_endpoint: format!("http://{addr}"),
            signal_endpoints: [None, None, None],
            timeout: Duration::from_secs(5),
            headers: vec![],
        })
        .expect("transport");
        let answer = transport.send(Signal::Traces, &Payload::of_message(&request("a")));
        assert_eq!(
            answer,
            Err(format!(
                "reading OTLP/HTTP response: reply larger than {MAX_RESPONSE_BYTES} bytes"
            ))
        );
        drop(transport);
        let written = server.join().expect("server");
        assert!(written < 4 * MAX_RESPONSE_BYTES, "read whole: {written}");
    }

    #[test]
    fn otlp_http_sends_the_protobuf_without_the_grpc_prefix() {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let sink = runtime
            .block_on(otlp_sink::Sink::start_on(any, Some(any), true))
            .expect("sink");
        let transport = Transport::new(ExporterConfig {
            protocol: Protocol::HttpProtobuf,
            base_endpoint: sink.http_endpoint().expect("http endpoint"),
            signal_endpoints: [None, None, None],
            timeout: Duration::from_secs(5),
            headers: vec![],
        })
        .expect("transport");
        let sent = request("over-http");
        let answer = transport.send(Signal::Traces, &Payload::of_message(&sent));
        assert_eq!(answer, Ok(Accepted { rejected: 0 }));
        assert_eq!(sink.traces(), vec![sent]);
    }
}
