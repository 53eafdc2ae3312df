//! The log bridge: `tracing` events become OpenTelemetry log records, stamped with
//! the request's ids and a real timestamp, and optionally also JSON lines on stdout.
//! On the stock path through opentelemetry-appender-tracing and
//! [`RequestContextProcessor`]; on the lean path as the export queue's own records
//! (`event_record`, taken in `WithoutTransport::on_event`).

use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord};
use opentelemetry::InstrumentationScope;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord, SdkLoggerProvider};
use opentelemetry_sdk::trace::SdkTracer;
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::access_log;
use super::event_record::EventRecord;
use super::export::LogSink;
use super::request_context;
use super::switches::Switches;
use super::tracer::SPAN_TARGET;

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
        request_context::with_current(|facts| {
            record.add_attribute(
                "request_id",
                AnyValue::String(facts.request_id.shared().into()),
            );
            if let Some(user) = &facts.user_id {
                record.add_attribute("user.id", AnyValue::String(user.clone().into()));
            }
            // An event that names the id itself ("project created") keeps its
            // own: OTLP attribute keys must be unique.
            let has = |record: &SdkLogRecord, key: &str| {
                record.attributes_iter().any(|(k, _)| k.as_str() == key)
            };
            if let Some(id) = facts.project_id() {
                if !has(record, "project.id") {
                    record.add_attribute("project.id", id);
                }
            }
            if let Some(id) = facts.todo_id() {
                if !has(record, "todo.id") {
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

fn is_transport(target: &str) -> bool {
    TRANSPORT_TARGETS
        .iter()
        .any(|t| target == *t || (target.starts_with(t) && target[t.len()..].starts_with("::")))
}

/// Keeps the transport crates' events away from the layer it wraps, and off
/// altogether: a per-layer filter would do the first, but it turns every
/// `trace!` in hyper and h2 into a filter evaluation at run time (measured:
/// several µs per request), while `Interest::never` is decided once per
/// callsite.
///
/// With `direct` (the lean path), the events skip the bridge and the SDK: the
/// access events (`access_log::TARGET`) are queued by the request layer itself
/// (emitted for stdout only) and every other event is queued here as an
/// [`EventRecord`]. Skipped in `on_event`, not by interest, so stdout still gets
/// them.
pub struct WithoutTransport<L> {
    pub inner: L,
    pub direct: Option<LogSink>,
    /// The run-time log switch (`switches`): off, events go to stdout only.
    pub switches: Option<Arc<Switches>>,
}

impl<S, L> Layer<S> for WithoutTransport<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: Layer<S>,
{
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if is_transport(metadata.target()) {
            Interest::never()
        } else {
            self.inner.register_callsite(metadata)
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: LayerContext<'_, S>) -> bool {
        !is_transport(metadata.target()) && self.inner.enabled(metadata, ctx)
    }

    // No transport check here: `enabled` returning false for a transport event
    // disables it for the whole subscriber (the layers are stacked, not
    // per-layer filtered), so it never reaches `on_event`.
    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        let target = event.metadata().target();
        let switched_off = self
            .switches
            .as_ref()
            .is_some_and(|switches| !switches.logs_exported());
        if switched_off {
            return;
        }
        match &self.direct {
            None => self.inner.on_event(event, ctx),
            Some(_) if target == access_log::TARGET => {}
            Some(sink) => sink.push_event(EventRecord::of(event)),
        }
    }
}

/// Installs the global `tracing` subscriber: level filter from RUST_LOG
/// (default info), the OTel bridge when telemetry is on, JSON lines on stdout
/// when asked, and on the stock path tracing-opentelemetry for the spans.
pub fn init_subscriber(
    logger_provider: Option<&SdkLoggerProvider>,
    stdout: bool,
    span_bridge: Option<SdkTracer>,
    direct: Option<LogSink>,
    switches: Option<Arc<Switches>>,
) {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if span_bridge.is_some() {
        // The server and database spans are `tracing` spans here: RUST_LOG=warn
        // must not turn them off.
        if let Ok(directive) = format!("{SPAN_TARGET}=trace").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let bridge = logger_provider.map(|provider| WithoutTransport {
        inner: OpenTelemetryTracingBridge::new(provider),
        direct,
        switches,
    });
    let json = stdout.then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter_fn(|meta| meta.target() != SPAN_TARGET))
    });
    // Only our spans, no events (those are log records) and none of the
    // per-span extras (thread, code location, busy/idle times), so both paths
    // emit the same attributes.
    let spans = span_bridge.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_threads(false)
            .with_location(false)
            .with_tracked_inactivity(false)
            .with_level(false)
            .with_target(false)
            .with_filter(filter_fn(|meta| {
                meta.is_span() && meta.target() == SPAN_TARGET
            }))
    });
    // A second init (tests in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(bridge)
        .with(json)
        .with(spans)
        .try_init();
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::{Event, Subscriber};
    use tracing_subscriber::filter::filter_fn;
    use tracing_subscriber::layer::{Context, SubscriberExt};
    use tracing_subscriber::{EnvFilter, Layer};

    use super::{is_transport, WithoutTransport};

    /// The targets of the events a layer was handed.
    struct Capture(Arc<Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Capture {
        fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
            if let Ok(mut seen) = self.0.lock() {
                seen.push(event.metadata().target().to_string());
            }
        }
    }

    #[test]
    fn a_transport_event_never_reaches_the_bridge_even_beside_per_layer_filters() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        // The shape of `init_subscriber`'s stack: a filtered stdout layer beside the bridge.
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::new("trace"))
            .with(WithoutTransport {
                inner: Capture(Arc::clone(&seen)),
                direct: None,
                switches: None,
            })
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::sink)
                    .with_filter(filter_fn(|_| true)),
            );
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "h2::proto::streams", "a frame");
            tracing::info!(target: "alertingscout::telemetry::export::pipeline", "export failed");
            tracing::info!(target: "alertingscout::routes", "project created");
        });
        assert_eq!(*seen.lock().unwrap(), ["alertingscout::routes"]);
    }

    #[test]
    fn transport_targets_are_matched_by_crate() {
        assert!(is_transport("h2::proto::streams"));
        assert!(is_transport("hyper"));
        assert!(is_transport("alertingscout::telemetry::export::pipeline"));
        assert!(!is_transport("hyperion"));
        assert!(!is_transport("alertingscout::telemetry::http"));
    }
}
