//! Sends pre-encoded OTLP requests over gRPC (tonic, with a pass-through
//! codec: the bytes are already protobuf) or OTLP/HTTP (protobuf). Runs on the
//! export thread's own current-thread runtime, so it never touches the
//! application's runtime (the known batch-processor + tonic deadlock).

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, Endpoint};

use super::{PerSignal, Signal};
use crate::telemetry::config::{ExporterConfig, Protocol};

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
    fn send(&self, signal: Signal, body: Bytes) -> Result<Accepted, String>;
}

impl Sender for Transport {
    fn send(&self, signal: Signal, body: Bytes) -> Result<Accepted, String> {
        Transport::send(self, signal, body)
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
    pub fn send(&self, signal: Signal, body: Bytes) -> Result<Accepted, String> {
        let timeout = self.config.timeout;
        let fut = async {
            match &self.client {
                Client_::Grpc(channels) => {
                    self.send_grpc(channels.get(signal).clone(), signal, body)
                        .await
                }
                Client_::Http(client) => self.send_http(client, signal, body).await,
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
        channel: Channel,
        signal: Signal,
        body: Bytes,
    ) -> Result<Accepted, String> {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|e| format!("collector unreachable: {e}"))?;
        let mut request = tonic::Request::new(body);
        for (key, value) in &self.config.headers {
            if let (Ok(key), Ok(value)) = (
                tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
                value.parse(),
            ) {
                request.metadata_mut().insert(key, value);
            }
        }
        let path = PathAndQuery::from_static(match signal {
            Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        });
        let response = grpc
            .unary(request, path, RawCodec)
            .await
            .map_err(|status| format!("grpc {:?}: {}", status.code(), status.message()))?;
        Ok(parse_response(signal, response.into_inner()))
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
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading OTLP/HTTP response: {e}"))?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("OTLP/HTTP status {status}"));
        }
        Ok(parse_response(signal, body.to_vec()))
    }
}

/// Reads the partial-success part of an Export*ServiceResponse.
fn parse_response(signal: Signal, body: Vec<u8>) -> Accepted {
    use opentelemetry_proto::tonic::collector::{logs, metrics, trace};
    let rejected = match signal {
        Signal::Traces => trace::v1::ExportTraceServiceResponse::decode(body.as_slice())
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_spans as u64),
        Signal::Logs => logs::v1::ExportLogsServiceResponse::decode(body.as_slice())
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_log_records as u64),
        Signal::Metrics => metrics::v1::ExportMetricsServiceResponse::decode(body.as_slice())
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_data_points as u64),
    };
    Accepted {
        rejected: rejected.unwrap_or(0),
    }
}

/// A gRPC codec for bytes that are already protobuf.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Self::Error> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}
