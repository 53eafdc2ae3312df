//! `oncall serve`: wires the settings into the relay and runs the HTTP server
//! until SIGTERM or Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::cli::ServeSettings;
use crate::elasticsearch::Elasticsearch;
use crate::incident;
use crate::incident::api::IncidentApi;
use crate::logs;
use crate::logs::api::LogApi;
use crate::logs::audit::AuditTrail;
use crate::relay::delivery::{Deliverer, Outbox, RetryPolicy, SlackWebhook, Target};
use crate::relay::examples::ExampleFinder;
use crate::relay::metrics::RelayMetrics;
use crate::relay::{self, Relay};
use crate::retention::{self, run::Retention};
use crate::telemetry;
use opentelemetry::metrics::Meter;

/// The relay with its targets; the metrics start a series for each target it has.
pub fn build_relay(settings: &ServeSettings, meter: &Meter) -> anyhow::Result<Relay> {
    let mut targets: Vec<Box<dyn Target>> = Vec::new();
    if let Some(url) = settings.slack_webhook() {
        targets.push(Box::new(SlackWebhook::new(
            url.clone(),
            settings.delivery_timeout,
        )?));
    }
    let names: Vec<&str> = std::iter::once(Outbox::NAME)
        .chain(targets.iter().map(|t| t.name()))
        .collect();
    let metrics = RelayMetrics::new(meter, &names);
    Ok(Relay {
        examples: ExampleFinder {
            elasticsearch: settings.elasticsearch.client(settings.examples_timeout)?,
            index: settings.logs_index.clone(),
            kibana: settings.kibana_url.clone(),
            limit: settings.examples,
        },
        deliverer: Deliverer {
            targets,
            outbox: Outbox::new(settings.outbox.clone()),
            retry: RetryPolicy {
                attempts: settings.delivery_attempts,
                first_backoff: settings.delivery_backoff,
                max_backoff: Duration::from_secs(30),
            },
            metrics: metrics.clone(),
        },
        metrics,
    })
}

/// The log API: the reader and the create-only audit writer, each with its own credentials.
pub fn build_log_api(settings: &ServeSettings) -> anyhow::Result<LogApi> {
    let logs = settings.elasticsearch.client(settings.logs_timeout)?;
    let writer = settings
        .audit_elasticsearch
        .client(&settings.elasticsearch, settings.logs_timeout)?;
    Ok(LogApi {
        operators_file: settings.operators.clone(),
        audit: AuditTrail {
            writer,
            reader: logs.clone(),
            index: settings.audit_index.clone(),
        },
        logs,
        logs_index: settings.logs_index.clone(),
    })
}

/// Incident bundles: the log API's operators, reader and audit trail, plus
/// the spans, Prometheus and the outbox.
pub fn build_incident_api(
    settings: &ServeSettings,
    log_api: Arc<LogApi>,
) -> anyhow::Result<IncidentApi> {
    Ok(IncidentApi {
        logs: log_api,
        traces_index: settings.traces_index.clone(),
        prometheus: crate::prometheus::Prometheus::new(
            settings.prometheus_url.clone(),
            incident::PROMETHEUS_TIMEOUT,
        )?,
        grafana: settings.grafana_url.clone(),
        kibana: settings.kibana_url.clone(),
        outbox: settings.outbox.clone(),
        role: settings.incident_role,
    })
}

/// The schedule's retention: its own Elasticsearch user when one is set (the log
/// reader may not delete; docs/security.md), and the log API's audit trail.
fn retention_of(settings: &ServeSettings, log_api: &LogApi) -> anyhow::Result<Retention> {
    let es = match &settings.retention_elasticsearch_user {
        Some(user) => {
            Elasticsearch::new(settings.elasticsearch.url.clone(), settings.logs_timeout)?
                .with_credentials(
                    Some(user.clone()),
                    settings.retention_elasticsearch_password.clone(),
                )
        }
        None => log_api.logs.clone(),
    };
    Ok(Retention {
        es,
        audit: log_api.audit.clone(),
        prefixes: retention::DAILY_PREFIXES
            .iter()
            .map(|p| (*p).to_owned())
            .collect(),
        days: settings.retention.retention_days,
        audit_days: settings.retention.audit_retention_days,
    })
}

/// Runs retention now and then every `every`, as operator `oncall-serve`.
fn schedule_retention(retention: Retention, every: Duration) {
    tracing::info!(every = ?every, days = retention.days, audit_days = retention.audit_days, "retention scheduled");
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match retention
                .run(
                    retention::SCHEDULE_OPERATOR,
                    "admin",
                    false,
                    chrono::Utc::now(),
                )
                .await
            {
                Ok(o) if !o.indices.is_empty() => {
                    tracing::info!(indices = ?o.indices, audit_id = ?o.audit_id, "retention run done")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention run failed"),
            }
        }
    });
}

pub fn run(settings: ServeSettings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let telemetry = telemetry::init()?;
    let relay = Arc::new(build_relay(&settings, &telemetry.meter())?);
    let log_api = Arc::new(build_log_api(&settings)?);
    let incident_api = Arc::new(build_incident_api(&settings, log_api.clone())?);
    if !settings.operators.exists() {
        tracing::warn!(file = %settings.operators.display(), "no operators file: the log API refuses every token");
    }
    let served = runtime.block_on(async {
        // The audit index's mapping; a failure here is not fatal (every query
        // fails instead, with the reason, until the audit trail is writable).
        if let Err(e) = log_api.audit.ensure_index().await {
            tracing::warn!(index = %settings.audit_index, error = %e, "audit index not ensured");
        }
        if let Some(every) = settings.retention_interval.0 {
            schedule_retention(retention_of(&settings, &log_api)?, every);
        } else {
            tracing::info!("retention schedule off (ONCALL_RETENTION_INTERVAL=0)");
        }
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let address = listener.local_addr()?;
        // Tests and scripts read the address from this line (the port may be :0).
        eprintln!("oncall listening on http://{address}");
        tracing::info!(%address, outbox = %settings.outbox.display(), "oncall serve started");
        axum::serve(
            listener,
            relay::router(relay)
                .merge(logs::api::router(log_api))
                .merge(incident::api::router(incident_api)),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")
    });
    // Outside the runtime: the exporter's blocking client must not run on a worker.
    drop(runtime);
    telemetry.shutdown();
    served
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
