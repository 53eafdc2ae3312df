//! The log bridge: `tracing` events become OpenTelemetry log records (via
//! opentelemetry-appender-tracing), stamped with the request's ids and a real
//! timestamp, and optionally also JSON lines on stdout.

use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord, SdkLoggerProvider};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::request_context::RequestFacts;

/// Crates whose own logs must not enter the OTLP log pipeline: they are the
/// transport, so bridging them makes telemetry feed itself.
const TRANSPORT_TARGETS: [&str; 7] = [
    "hyper",
    "hyper_util",
    "h2",
    "tonic",
    "tower",
    "reqwest",
    "alertingscout::telemetry::export",
];

/// First processor of the log pipeline: adds what the request knows and sets
/// the record's time (the bridge leaves it unset; Elasticsearch's @timestamp
/// comes from it).
#[derive(Debug, Default)]
pub struct RequestContextProcessor;

impl LogProcessor for RequestContextProcessor {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        if record.timestamp().is_none() {
            let time = record.observed_timestamp().unwrap_or_else(SystemTime::now);
            record.set_timestamp(time);
        }
        Context::map_current(|cx| {
            if let Some(facts) = cx.get::<RequestFacts>() {
                record.add_attribute(
                    "request_id",
                    AnyValue::String(facts.request_id.shared().into()),
                );
                if let Some(user) = &facts.user_id {
                    record.add_attribute("user.id", AnyValue::String(user.clone().into()));
                }
                if let Some(id) = facts.project_id() {
                    record.add_attribute("project.id", id);
                }
                if let Some(id) = facts.todo_id() {
                    record.add_attribute("todo.id", id);
                }
            }
        });
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Installs the global `tracing` subscriber: level filter from RUST_LOG
/// (default info), the OTel bridge when telemetry is on, JSON lines on stdout
/// when asked.
pub fn init_subscriber(logger_provider: Option<&SdkLoggerProvider>, stdout: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let bridge = logger_provider.map(|provider| {
        let targets = TRANSPORT_TARGETS.iter().fold(
            Targets::new().with_default(LevelFilter::TRACE),
            |t, target| t.with_target(*target, LevelFilter::OFF),
        );
        OpenTelemetryTracingBridge::new(provider).with_filter(targets)
    });
    let json = stdout.then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
    });
    // A second init (tests in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(bridge)
        .with(json)
        .try_init();
}
