//! Telemetry: one module per concern.
//! - `config`: the OTEL_* environment; `resource`: who we are
//! - `request_id`, `request_context`, `route`, `propagation`: per-request identity and labels
//! - `http`: the server span and HTTP metrics of each request; `access_log`: its log record
//! - `db_span`: client spans around store calls
//! - `metrics`, `process`: instruments; `exemplars`: the duration histogram's exemplars; `logs`: the tracing -> OTel log bridge
//! - `pii`: caller-id pseudonyms and masking of free text before it is recorded
//! - `export`: the lean OTLP exporter; `stock`: the SDK's own (ALERTINGSCOUT_OTLP_EXPORTER=sdk);
//!   `health`: their counters for /health/telemetry
//! - `prometheus`: the optional direct /metrics endpoint

pub mod access_log;
pub mod after_response;
pub mod config;
pub mod db_span;
pub mod event_record;
pub mod exemplars;
pub mod export;
pub mod health;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod pii;
pub mod process;
pub mod prometheus;
pub mod propagation;
pub mod request_context;
pub mod request_id;
pub mod resource;
pub mod route;
pub mod sampling;
pub mod server_span;
pub mod stock;
pub mod switches;
pub mod tracer;
pub mod unix_nanos;

use std::sync::Arc;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::Serialize;

use self::config::{ExportPath, OtelConfig, Protocol};
use self::exemplars::ExemplarStore;
use self::export::{EncodedResource, Pipeline, Signal};
use self::health::{SignalReport, TelemetryHealth};
use self::metrics::HttpMetrics;
use self::stock::StockExporters;
use self::switches::{SwitchState, SwitchedMetrics, SwitchedSampler, Switches};
use self::tracer::SpanApi;

pub const SCOPE_NAME: &str = "alertingscout";

/// What the request layer needs when telemetry is on (the tracer: `tracer::get`).
pub struct Otel {
    pub http: HttpMetrics,
    /// The lean path's access records go straight to the export queue; None on
    /// the stock path, where they are `tracing` events through the bridge.
    pub access: Option<export::LogSink>,
    /// The lean path's server spans (`server_span`); None on the stock path.
    pub server_spans: Option<Arc<server_span::LeanSpans>>,
}

struct Inner {
    otel: Option<Otel>,
    stdout_spans: bool,
    health: Arc<TelemetryHealth>,
    pipeline: Option<Arc<Pipeline>>,
    config: OtelConfig,
    prometheus: Option<::prometheus::Registry>,
    switches: Arc<Switches>,
}

/// Cheap handle on the telemetry state, shared by the layers and handlers.
#[derive(Clone)]
pub struct TelemetryHandle(Arc<Inner>);

impl TelemetryHandle {
    pub fn otel(&self) -> Option<&Otel> {
        self.0.otel.as_ref()
    }

    pub fn stdout_spans(&self) -> bool {
        self.0.stdout_spans
    }

    pub fn prometheus(&self) -> Option<&::prometheus::Registry> {
        self.0.prometheus.as_ref()
    }

    /// The run-time export switches (`switches`; set by the admin API).
    pub fn switches(&self) -> &Switches {
        &self.0.switches
    }

    /// The pipeline health report behind GET /health/telemetry.
    pub fn report(&self) -> TelemetryReport {
        let queued = self
            .0
            .pipeline
            .as_ref()
            .map(|p| p.queued())
            .unwrap_or_default();
        let h = &self.0.health;
        let exporter = &self.0.config.exporter;
        let enabled = self.0.otel.is_some();
        let traces = h.traces.snapshot(queued.traces);
        let logs = h.logs.snapshot(queued.logs);
        let metrics = h.metrics.snapshot(queued.metrics);
        let healthy = traces.healthy && logs.healthy && metrics.healthy;
        TelemetryReport {
            status: if !enabled {
                "disabled"
            } else if healthy {
                "ok"
            } else {
                "degraded"
            },
            exporter: self.0.config.path.name(),
            protocol: match exporter.protocol {
                Protocol::Grpc => "grpc",
                Protocol::HttpProtobuf => "http/protobuf",
            },
            endpoint: exporter.endpoint(Signal::Logs),
            traces,
            logs,
            metrics,
            switches: self.0.switches.state(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TelemetryReport {
    pub status: &'static str,
    /// The export path: "lean" or "sdk" (ALERTINGSCOUT_OTLP_EXPORTER).
    pub exporter: &'static str,
    pub protocol: &'static str,
    pub endpoint: String,
    pub traces: SignalReport,
    pub logs: SignalReport,
    pub metrics: SignalReport,
    /// The run-time export switches (`PATCH /admin/telemetry`).
    pub switches: SwitchState,
}

/// Owns the providers; `shutdown` flushes and stops them.
pub struct Telemetry {
    handle: TelemetryHandle,
    tracer_provider: Option<SdkTracerProvider>,
    logger_provider: Option<SdkLoggerProvider>,
    meter_provider: Option<SdkMeterProvider>,
    /// The stock path's reactor for tonic; dropped after the providers' last flush.
    stock_runtime: Option<tokio::runtime::Runtime>,
}

impl Telemetry {
    /// Sets up every signal from the OTEL_* environment. With
    /// OTEL_SDK_DISABLED=true nothing is exported (stdout logs still work).
    pub fn init(
        config: OtelConfig,
        log_stdout: bool,
        prometheus_endpoint: bool,
    ) -> anyhow::Result<Telemetry> {
        let health = Arc::new(TelemetryHealth::default());
        let switches = Arc::new(Switches::default());
        let mut stock_runtime = None;
        if config.sdk_disabled {
            logs::init_subscriber(None, log_stdout, None, None, None);
            return Ok(Telemetry {
                handle: TelemetryHandle(Arc::new(Inner {
                    otel: None,
                    stdout_spans: log_stdout,
                    health,
                    pipeline: None,
                    config,
                    prometheus: None,
                    switches,
                })),
                tracer_provider: None,
                logger_provider: None,
                meter_provider: None,
                stock_runtime: None,
            });
        }

        let resource = resource::build();
        let exemplars = Arc::new(ExemplarStore::default());
        // One sampler for the SDK's spans and the lean path's own server spans.
        // The run-time trace switch sits on top of it.
        let sampler = SwitchedSampler::new(sampling::from_env(), Arc::clone(&switches));
        let mut tracer_builder = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_sampler(sampler.clone());
        let mut logger_builder = SdkLoggerProvider::builder()
            .with_resource(resource.clone())
            .with_log_processor(logs::RequestContextProcessor);
        let mut meter_builder = SdkMeterProvider::builder().with_resource(resource.clone());
        let pipeline = match config.path {
            ExportPath::Lean => {
                let pipeline = Arc::new(Pipeline::start(
                    &config,
                    EncodedResource::new(&resource),
                    Arc::clone(&health),
                )?);
                tracer_builder = tracer_builder.with_span_processor(pipeline.span_processor());
                logger_builder = logger_builder.with_log_processor(pipeline.log_processor());
                meter_builder = meter_builder.with_reader(
                    PeriodicReader::builder(SwitchedMetrics::new(
                        pipeline.metric_exporter(Arc::clone(&exemplars)),
                        Arc::clone(&switches),
                    ))
                    .with_interval(config.metric_export_interval)
                    .build(),
                );
                Some(pipeline)
            }
            ExportPath::Sdk => {
                // The SDK's batch processors read OTEL_BSP_* / OTEL_BLRP_* themselves.
                let exporters = StockExporters::build(&config.exporter, &health)?;
                tracer_builder = tracer_builder.with_batch_exporter(exporters.spans);
                logger_builder = logger_builder.with_batch_exporter(exporters.logs);
                meter_builder = meter_builder.with_reader(
                    PeriodicReader::builder(SwitchedMetrics::new(
                        exporters.metrics,
                        Arc::clone(&switches),
                    ))
                    .with_interval(config.metric_export_interval)
                    .build(),
                );
                stock_runtime = exporters.runtime;
                None
            }
        };
        let tracer_provider = tracer_builder.build();
        let logger_provider = logger_builder.build();
        let lean_spans = pipeline.as_ref().map(|p| {
            Arc::new(server_span::LeanSpans::new(
                sampler,
                SCOPE_NAME,
                p.span_sink(),
            ))
        });
        let span_bridge = match &lean_spans {
            Some(spans) => {
                tracer::install(SpanApi::Lean(Arc::clone(spans)));
                None
            }
            None => {
                tracer::install(SpanApi::Tracing);
                Some(tracer_provider.tracer(SCOPE_NAME))
            }
        };

        let registry = if prometheus_endpoint {
            let registry = ::prometheus::Registry::new();
            meter_builder = meter_builder.with_reader(prometheus::exporter(registry.clone())?);
            Some(registry)
        } else {
            None
        };
        let meter_provider = meter_builder.build();
        let meter = meter_provider.meter(SCOPE_NAME);
        let http = HttpMetrics::new(&meter, exemplars, pipeline.is_some());
        process::register(&meter);
        switches::register(&meter, &switches);
        if let Some(pipeline) = &pipeline {
            pipeline.register_metrics(&meter);
        }

        opentelemetry::global::set_tracer_provider(tracer_provider.clone());
        opentelemetry::global::set_meter_provider(meter_provider.clone());
        let direct = pipeline.as_ref().map(|p| p.log_sink());
        logs::init_subscriber(
            Some(&logger_provider),
            log_stdout,
            span_bridge,
            direct,
            Some(Arc::clone(&switches)),
        );

        Ok(Telemetry {
            handle: TelemetryHandle(Arc::new(Inner {
                otel: Some(Otel {
                    http,
                    access: pipeline.as_ref().map(|p| p.log_sink()),
                    server_spans: lean_spans,
                }),
                stdout_spans: log_stdout,
                health,
                pipeline,
                config,
                prometheus: registry,
                switches,
            })),
            tracer_provider: Some(tracer_provider),
            logger_provider: Some(logger_provider),
            meter_provider: Some(meter_provider),
            stock_runtime,
        })
    }

    pub fn handle(&self) -> TelemetryHandle {
        self.handle.clone()
    }

    /// Flushes and stops every provider, then the export thread. Call it
    /// outside the runtime's worker threads (the SDK's documented deadlock).
    pub fn shutdown(self) {
        // Requests answered but not yet recorded by an idle worker.
        after_response::drain_all();
        if let Some(provider) = &self.meter_provider {
            let _ = provider.shutdown();
        }
        if let Some(provider) = &self.tracer_provider {
            let _ = provider.shutdown();
        }
        if let Some(provider) = &self.logger_provider {
            let _ = provider.shutdown();
        }
        if let Some(pipeline) = &self.handle.0.pipeline {
            pipeline.shutdown();
        }
        if let Some(runtime) = self.stock_runtime {
            runtime.shutdown_background();
        }
    }
}
