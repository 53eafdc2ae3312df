//! SDK processor traits over the pipeline's queues, and the lean path's own ways in.

use std::sync::Arc;

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::logs::LogItem;
use super::shared::Shared;
use super::spans::SpanItem;
use crate::telemetry::access_log::AccessRecord;
use crate::telemetry::db_span::DbSpanRecord;
use crate::telemetry::event_record::EventRecord;
use crate::telemetry::server_span::ServerSpanRecord;

#[derive(Debug)]
pub struct QueueSpanProcessor {
    shared: Arc<Shared>,
}

impl QueueSpanProcessor {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        QueueSpanProcessor { shared }
    }
}

impl SpanProcessor for QueueSpanProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.shared
                .spans
                .push(SpanItem::Sdk(span), &self.shared.health.traces);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.shared.flush();
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        // Nothing to flush here: `Telemetry::shutdown` stops the shared
        // pipeline after every provider, and that drains all signals once.
        Ok(())
    }
}

#[derive(Debug)]
pub struct QueueLogProcessor {
    shared: Arc<Shared>,
    /// An empty record to leave behind when taking the emitted one: a
    /// shallow copy instead of cloning every attribute value.
    blank: SdkLogRecord,
}

impl QueueLogProcessor {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        use opentelemetry::logs::{Logger, LoggerProvider};
        // The SDK has no public constructor for a record; a provider without
        // processors hands out blank ones.
        let blank = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
            .build()
            .logger("blank")
            .create_log_record();
        QueueLogProcessor { shared, blank }
    }
}

impl LogProcessor for QueueLogProcessor {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        // This processor is last in the pipeline, so the record can be taken.
        let item = LogItem::Sdk {
            record: Box::new(std::mem::replace(record, self.blank.clone())),
            scope: scope.clone(),
        };
        self.shared.logs.push(item, &self.shared.health.logs);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.shared.flush();
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        // Nothing to flush here: `Telemetry::shutdown` stops the shared
        // pipeline after every provider, and that drains all signals once.
        Ok(())
    }
}

/// The lean path's own log records into the log queue, past the SDK: the access
/// records (`telemetry::access_log`) and the service's events
/// (`telemetry::event_record`).
#[derive(Debug, Clone)]
pub struct LogSink {
    shared: Arc<Shared>,
}

impl LogSink {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        LogSink { shared }
    }

    pub fn push_access(&self, record: AccessRecord) {
        self.shared
            .logs
            .push(LogItem::Access(record), &self.shared.health.logs);
    }

    pub fn push_event(&self, record: EventRecord) {
        self.shared
            .logs
            .push(LogItem::Event(record), &self.shared.health.logs);
    }
}

/// The lean path's server spans into the span queue, past the SDK's tracer
/// (`telemetry::server_span`).
#[derive(Debug, Clone)]
pub struct SpanSink {
    shared: Arc<Shared>,
}

impl SpanSink {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        SpanSink { shared }
    }

    /// A sink whose queue no thread drains, for unit tests.
    #[cfg(test)]
    pub fn detached() -> Self {
        let config = crate::telemetry::config::OtelConfig::from_lookup(|_| None)
            .expect("the default configuration");
        SpanSink::new(Arc::new(Shared::new(&config, Arc::default())))
    }

    pub fn push_server(&self, span: ServerSpanRecord) {
        self.shared
            .spans
            .push(SpanItem::Server(span), &self.shared.health.traces);
    }

    pub fn push_db(&self, span: DbSpanRecord) {
        self.shared
            .spans
            .push(SpanItem::Db(span), &self.shared.health.traces);
    }
}
