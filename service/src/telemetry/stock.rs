//! The stock export path (`ALERTINGSCOUT_OTLP_EXPORTER=sdk`): opentelemetry-otlp's
//! exporters (gRPC over tonic, or HTTP/protobuf) behind the SDK's own batch span and
//! log processors and periodic metric reader, the way a typical Rust service exports.
//! It is a supported mode for users who want the upstream exporters, and the anchor
//! the lean path (`telemetry::export`) is measured against (`loadtest overhead`).
//!
//! Same signals and attributes as the lean path, with three differences
//! (docs/performance.md): no exemplars (the SDK keeps none), no retry queue of our
//! own (the exporters' own behaviour applies), and `/health/telemetry` counts export
//! outcomes only (the SDK's queues are not visible).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::config::{ExporterConfig, Protocol};
use super::export::Signal;
use super::health::{SignalStats, TelemetryHealth};

/// The three stock exporters, each counting its outcomes for `/health/telemetry`.
pub struct StockExporters {
    pub spans: Counted<opentelemetry_otlp::SpanExporter>,
    pub logs: Counted<opentelemetry_otlp::LogExporter>,
    pub metrics: Counted<opentelemetry_otlp::MetricExporter>,
    /// tonic needs a reactor for its channels; the SDK's processor threads only
    /// `block_on` their exports. One worker, kept until the providers are shut down.
    pub runtime: Option<tokio::runtime::Runtime>,
}

impl StockExporters {
    pub fn build(config: &ExporterConfig, health: &Arc<TelemetryHealth>) -> anyhow::Result<Self> {
        let (spans, logs, metrics, runtime) = match config.protocol {
            Protocol::Grpc => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("otel-sdk-grpc")
                    .enable_all()
                    .build()?;
                let _entered = runtime.enter();
                let metadata = tonic::metadata::MetadataMap::from_headers(header_map(config)?);
                let spans = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(config.endpoint(Signal::Traces))
                    .with_timeout(config.timeout)
                    .with_metadata(metadata.clone())
                    .build()?;
                let logs = opentelemetry_otlp::LogExporter::builder()
                    .with_tonic()
                    .with_endpoint(config.endpoint(Signal::Logs))
                    .with_timeout(config.timeout)
                    .with_metadata(metadata.clone())
                    .build()?;
                let metrics = opentelemetry_otlp::MetricExporter::builder()
                    .with_tonic()
                    .with_endpoint(config.endpoint(Signal::Metrics))
                    .with_timeout(config.timeout)
                    .with_metadata(metadata)
                    .build()?;
                drop(_entered);
                (spans, logs, metrics, Some(runtime))
            }
            Protocol::HttpProtobuf => {
                let headers: HashMap<String, String> = config.headers.iter().cloned().collect();
                let spans = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_endpoint(config.endpoint(Signal::Traces))
                    .with_timeout(config.timeout)
                    .with_headers(headers.clone())
                    .build()?;
                let logs = opentelemetry_otlp::LogExporter::builder()
                    .with_http()
                    .with_endpoint(config.endpoint(Signal::Logs))
                    .with_timeout(config.timeout)
                    .with_headers(headers.clone())
                    .build()?;
                let metrics = opentelemetry_otlp::MetricExporter::builder()
                    .with_http()
                    .with_endpoint(config.endpoint(Signal::Metrics))
                    .with_timeout(config.timeout)
                    .with_headers(headers)
                    .build()?;
                (spans, logs, metrics, None)
            }
        };
        Ok(StockExporters {
            spans: Counted::new(spans, health, Signal::Traces),
            logs: Counted::new(logs, health, Signal::Logs),
            metrics: Counted::new(metrics, health, Signal::Metrics),
            runtime,
        })
    }
}

fn header_map(config: &ExporterConfig) -> anyhow::Result<http::HeaderMap> {
    let mut map = http::HeaderMap::new();
    for (key, value) in &config.headers {
        map.insert(
            http::HeaderName::from_bytes(key.as_bytes())?,
            http::HeaderValue::from_str(value)?,
        );
    }
    Ok(map)
}

/// An exporter that records each export's outcome in the signal's health counters.
pub struct Counted<E> {
    inner: E,
    stats: Arc<TelemetryHealth>,
    signal: Signal,
}

impl<E> Counted<E> {
    fn new(inner: E, health: &Arc<TelemetryHealth>, signal: Signal) -> Self {
        Counted {
            inner,
            stats: Arc::clone(health),
            signal,
        }
    }

    fn stats(&self) -> &SignalStats {
        self.stats.get(self.signal)
    }

    fn record(&self, records: u64, result: OTelSdkResult) -> OTelSdkResult {
        let stats = self.stats();
        stats
            .queued
            .fetch_add(records, std::sync::atomic::Ordering::Relaxed);
        match &result {
            Ok(()) => stats.record_success(records),
            Err(error) => {
                stats.record_failure(error.to_string());
                stats.record_dropped(records);
            }
        }
        result
    }
}

impl<E: fmt::Debug> fmt::Debug for Counted<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counted")
            .field("signal", &self.signal)
            .field("inner", &self.inner)
            .finish()
    }
}

impl<E: SpanExporter> SpanExporter for Counted<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let records = batch.len() as u64;
        let result = self.inner.export(batch).await;
        self.record(records, result)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: LogExporter> LogExporter for Counted<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let records = batch.iter().count() as u64;
        let result = self.inner.export(batch).await;
        self.record(records, result)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: PushMetricExporter> PushMetricExporter for Counted<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        // Counted in instruments, not data points: the SDK's data model has no cheap count.
        let records = metrics
            .scope_metrics()
            .map(|scope| scope.metrics().count() as u64)
            .sum();
        let result = self.inner.export(metrics).await;
        self.record(records, result)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}
