use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use super::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;

fn traces(n: usize) -> ExportTraceServiceRequest {
    let span = Span {
        name: "GET /health".into(),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![span; n],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs(n: usize) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord::default(); n],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics(points: usize) -> ExportMetricsServiceRequest {
    let metric = Metric {
        name: "http.server.active_requests".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint::default(); points],
        })),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![metric],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::test]
async fn grpc_requests_are_counted_and_captured() {
    let sink = Sink::start(true).await.expect("start sink");
    let ep = sink.grpc_endpoint();
    TraceServiceClient::connect(ep.clone())
        .await
        .expect("connect")
        .export(traces(3))
        .await
        .expect("export traces");
    LogsServiceClient::connect(ep.clone())
        .await
        .expect("connect")
        .export(logs(2))
        .await
        .expect("export logs");
    MetricsServiceClient::connect(ep)
        .await
        .expect("connect")
        .export(metrics(4))
        .await
        .expect("export metrics");

    let c = sink.counts();
    assert_eq!(
        c,
        Counts {
            spans: 3,
            log_records: 2,
            metric_data_points: 4,
            trace_requests: 1,
            log_requests: 1,
            metric_requests: 1,
        }
    );
    assert_eq!(sink.traces(), vec![traces(3)]);
    assert_eq!(sink.logs(), vec![logs(2)]);
    assert_eq!(sink.metrics(), vec![metrics(4)]);
}

async fn post(addr: SocketAddr, path: &str, ctype: &str, body: Vec<u8>) -> (u16, Bytes) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let req = hyper::Request::post(path)
        .header("host", addr.to_string())
        .header("content-type", ctype)
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let resp = send.send_request(req).await.expect("send");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, body)
}

#[tokio::test]
async fn http_protobuf_requests_are_counted_and_captured() {
    let sink = Sink::start(true).await.expect("start sink");
    let addr = sink.http_addr().expect("http enabled");
    let pb = "application/x-protobuf";

    let (status, body) = post(addr, "/v1/traces", pb, traces(5).encode_to_vec()).await;
    assert_eq!(status, 200);
    assert!(ExportTraceServiceResponse::decode(body).is_ok());
    assert_eq!(
        post(addr, "/v1/logs", pb, logs(7).encode_to_vec()).await.0,
        200
    );
    assert_eq!(
        post(addr, "/v1/metrics", pb, metrics(1).encode_to_vec())
            .await
            .0,
        200
    );

    // Unsupported encodings and garbage are refused, never counted.
    assert_eq!(
        post(addr, "/v1/logs", "application/json", b"{}".to_vec())
            .await
            .0,
        415
    );
    assert_eq!(
        post(addr, "/v1/logs", pb, vec![0xff, 0xff, 0xff]).await.0,
        400
    );
    assert_eq!(post(addr, "/v1/other", pb, Vec::new()).await.0, 404);

    let c = sink.counts();
    assert_eq!((c.spans, c.log_records, c.metric_data_points), (5, 7, 1));
    assert_eq!(
        (c.trace_requests, c.log_requests, c.metric_requests),
        (1, 1, 1)
    );
    assert_eq!(sink.traces(), vec![traces(5)]);
    assert_eq!(sink.logs().len(), 1);
    assert_eq!(sink.metrics().len(), 1);
}

#[tokio::test]
async fn capture_off_counts_only() {
    let sink = Sink::start(false).await.expect("start sink");
    let addr = sink.http_addr().expect("http enabled");
    post(
        addr,
        "/v1/traces",
        "application/x-protobuf",
        traces(2).encode_to_vec(),
    )
    .await;
    assert_eq!(sink.counts().spans, 2);
    assert!(sink.traces().is_empty());
}

#[tokio::test]
async fn wait_for_reports_success_and_timeout() {
    let sink = Sink::start(false).await.expect("start sink");
    let ep = sink.grpc_endpoint();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Ok(mut c) = TraceServiceClient::connect(ep).await {
            let _ = c.export(traces(1)).await;
        }
    });
    assert!(
        sink.wait_for(|c| c.spans >= 1, Duration::from_secs(5))
            .await
    );
    assert!(
        !sink
            .wait_for(|c| c.spans >= 2, Duration::from_millis(50))
            .await
    );
}

#[tokio::test]
async fn drop_stops_the_servers() {
    let sink = Sink::start(false).await.expect("start sink");
    let grpc = sink.grpc_addr();
    sink.shutdown().await;
    assert!(tokio::net::TcpStream::connect(grpc).await.is_err());
}

#[test]
fn counts_since_saturates() {
    let a = Counts {
        spans: 10,
        log_records: 5,
        ..Default::default()
    };
    let b = Counts {
        spans: 4,
        log_records: 8,
        ..Default::default()
    };
    assert_eq!(a.since(&b).spans, 6);
    assert_eq!(a.since(&b).log_records, 0);
}

fn rich_metrics() -> ExportMetricsServiceRequest {
    use opentelemetry_proto::tonic::metrics::v1::{
        ExponentialHistogram, ExponentialHistogramDataPoint, Histogram, HistogramDataPoint, Sum,
        Summary, SummaryDataPoint,
    };
    let m = |data: Data| Metric {
        name: "m".into(),
        unit: "s".into(),
        data: Some(data),
        ..Default::default()
    };
    let scope = ScopeMetrics {
        metrics: vec![
            m(Data::Gauge(Gauge {
                data_points: vec![NumberDataPoint::default(); 2],
            })),
            m(Data::Sum(Sum {
                data_points: vec![NumberDataPoint::default(); 3],
                aggregation_temporality: 2,
                is_monotonic: true,
            })),
            m(Data::Histogram(Histogram {
                data_points: vec![
                    HistogramDataPoint {
                        bucket_counts: vec![1, 2, 3],
                        explicit_bounds: vec![0.1, 1.0],
                        ..Default::default()
                    };
                    4
                ],
                aggregation_temporality: 2,
            })),
            m(Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint::default(); 5],
                aggregation_temporality: 1,
            })),
            m(Data::Summary(Summary {
                data_points: vec![SummaryDataPoint::default(); 6],
            })),
        ],
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![
            ResourceMetrics {
                scope_metrics: vec![scope.clone(), scope.clone()],
                ..Default::default()
            },
            ResourceMetrics {
                scope_metrics: vec![scope],
                ..Default::default()
            },
        ],
    }
}

#[test]
fn lean_decoding_counts_like_full_decoding() {
    use crate::lean::{MetricsRequest, ResourceItems};
    let mut t = traces(3);
    t.resource_spans.push(traces(4).resource_spans.remove(0));
    let bytes = t.encode_to_vec();
    let lean = ResourceItems::decode(bytes.as_slice()).expect("lean traces");
    assert_eq!(lean.count(), span_count(&t));
    assert_eq!(lean.count(), 7);

    let l = logs(9);
    let lean = ResourceItems::decode(l.encode_to_vec().as_slice()).expect("lean logs");
    assert_eq!(lean.count(), log_record_count(&l));

    let m = rich_metrics();
    let lean = MetricsRequest::decode(m.encode_to_vec().as_slice()).expect("lean metrics");
    assert_eq!(lean.count(), data_point_count(&m));
    assert_eq!(lean.count(), 3 * (2 + 3 + 4 + 5 + 6));

    assert!(ResourceItems::decode(&[0x0a, 0xff, 0xff][..]).is_err());
}

#[tokio::test]
async fn grpc_counts_without_capture() {
    let sink = Sink::start(false).await.expect("start sink");
    let ep = sink.grpc_endpoint();
    TraceServiceClient::connect(ep.clone())
        .await
        .expect("connect")
        .export(traces(11))
        .await
        .expect("export traces");
    LogsServiceClient::connect(ep.clone())
        .await
        .expect("connect")
        .export(logs(12))
        .await
        .expect("export logs");
    MetricsServiceClient::connect(ep)
        .await
        .expect("connect")
        .export(rich_metrics())
        .await
        .expect("export metrics");
    let c = sink.counts();
    assert_eq!((c.spans, c.log_records, c.metric_data_points), (11, 12, 60));
    assert_eq!(
        (c.trace_requests, c.log_requests, c.metric_requests),
        (1, 1, 1)
    );
    assert!(sink.traces().is_empty() && sink.logs().is_empty() && sink.metrics().is_empty());
}

#[tokio::test]
async fn http_counts_without_capture() {
    let sink = Sink::start(false).await.expect("start sink");
    let addr = sink.http_addr().expect("http enabled");
    let pb = "application/x-protobuf";
    assert_eq!(
        post(addr, "/v1/logs", pb, logs(3).encode_to_vec()).await.0,
        200
    );
    assert_eq!(
        post(addr, "/v1/metrics", pb, rich_metrics().encode_to_vec())
            .await
            .0,
        200
    );
    assert_eq!(post(addr, "/v1/traces", pb, vec![0x0a, 0xff]).await.0, 400);
    let c = sink.counts();
    assert_eq!((c.log_records, c.metric_data_points, c.spans), (3, 60, 0));
    assert_eq!(c.trace_requests, 0);
}
