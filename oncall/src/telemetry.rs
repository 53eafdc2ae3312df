//! The on-call server's own telemetry: logs as text lines on stderr, and OTel
//! metrics over OTLP/HTTP to the Collector (the standard OTEL_* variables; the
//! stack sets OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME=oncall).

use std::time::Duration;

use opentelemetry::metrics::{Meter, MeterProvider};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::Resource;
use tracing_subscriber::EnvFilter;

/// How often metrics are exported unless OTEL_METRIC_EXPORT_INTERVAL says otherwise
/// (the SDK's 60 s default is too slow for a 15 s rule evaluation).
const DEFAULT_EXPORT_INTERVAL: Duration = Duration::from_secs(5);

pub struct Telemetry {
    provider: Option<SdkMeterProvider>,
}

impl Telemetry {
    pub fn meter(&self) -> Meter {
        match &self.provider {
            Some(provider) => provider.meter("oncall"),
            None => opentelemetry::metrics::noop::NoopMeterProvider::new().meter("oncall"),
        }
    }

    /// Exports what is left; call it outside any Tokio runtime.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(e) = provider.shutdown() {
                tracing::warn!(error = %e, "metrics shutdown");
            }
        }
    }
}

pub fn init() -> anyhow::Result<Telemetry> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    if std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(Telemetry { provider: None });
    }
    let interval = std::env::var("OTEL_METRIC_EXPORT_INTERVAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_EXPORT_INTERVAL);
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .build()?;
    let reader = PeriodicReader::builder(exporter)
        .with_interval(interval)
        .build();
    let resource = Resource::builder()
        .with_service_name(service_name())
        .build();
    let provider = SdkMeterProvider::builder()
        .with_reader(reader)
        .with_resource(resource)
        .build();
    Ok(Telemetry {
        provider: Some(provider),
    })
}

fn service_name() -> String {
    std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "oncall".into())
}
