//! Metric export: the SDK's periodic reader aggregates; we encode its
//! snapshot with opentelemetry-proto's transform (a few hundred points every
//! few seconds, so the stock path costs nothing that matters) and hand the
//! bytes to the export thread, with the duration histogram's exemplars
//! (which the SDK does not keep) added to its data points.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

use super::payload::Payload;
use super::shared::Shared;
use crate::telemetry::exemplars::ExemplarStore;

pub struct QueueMetricExporter {
    shared: Arc<Shared>,
    exemplars: Arc<ExemplarStore>,
}

impl QueueMetricExporter {
    pub(super) fn new(shared: Arc<Shared>, exemplars: Arc<ExemplarStore>) -> Self {
        QueueMetricExporter { shared, exemplars }
    }
}

impl PushMetricExporter for QueueMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut request = ExportMetricsServiceRequest::from(metrics);
        self.exemplars.attach(&mut request);
        let points = otlp_counts::data_point_count(&request);
        self.shared
            .push_metrics(Payload::of_message(&request), points);
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.shared.flush();
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        // Nothing to flush here: `Telemetry::shutdown` stops the shared
        // pipeline after every provider, and that drains all signals once.
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        // Prometheus (through the Collector's exporter) wants cumulative sums.
        Temporality::Cumulative
    }
}
