//! How many spans, log records and metric data points an OTLP export request
//! carries. The service counts what it exports with these and the test receiver
//! (otlp-sink) counts what it receives, so both sides count the same way; a crate
//! of its own so the service does not depend on a test tool.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

pub fn span_count(req: &ExportTraceServiceRequest) -> u64 {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum()
}

pub fn log_record_count(req: &ExportLogsServiceRequest) -> u64 {
    req.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len() as u64)
        .sum()
}

pub fn data_point_count(req: &ExportMetricsServiceRequest) -> u64 {
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| match &m.data {
            Some(Data::Gauge(g)) => g.data_points.len() as u64,
            Some(Data::Sum(s)) => s.data_points.len() as u64,
            Some(Data::Histogram(h)) => h.data_points.len() as u64,
            Some(Data::ExponentialHistogram(h)) => h.data_points.len() as u64,
            Some(Data::Summary(s)) => s.data_points.len() as u64,
            None => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
        ScopeMetrics,
    };

    #[test]
    fn data_points_of_every_kind_are_counted() {
        let metric = |data| Metric {
            data: Some(data),
            ..Default::default()
        };
        let req = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![
                        metric(Data::Gauge(Gauge {
                            data_points: vec![NumberDataPoint::default(); 2],
                        })),
                        metric(Data::Histogram(Histogram {
                            data_points: vec![HistogramDataPoint::default(); 3],
                            aggregation_temporality: 2,
                        })),
                        Metric::default(),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        assert_eq!(data_point_count(&req), 5);
        assert_eq!(span_count(&ExportTraceServiceRequest::default()), 0);
        assert_eq!(log_record_count(&ExportLogsServiceRequest::default()), 0);
    }
}
