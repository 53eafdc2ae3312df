//! `oncall serve`: wires the settings into the relay and runs the HTTP server
//! until SIGTERM or Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::cli::ServeSettings;
use crate::elasticsearch::Elasticsearch;
use crate::relay::delivery::{Deliverer, Outbox, RetryPolicy, SlackWebhook, Target};
use crate::relay::examples::ExampleFinder;
use crate::relay::metrics::RelayMetrics;
use crate::relay::{self, Relay};
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
            elasticsearch: Elasticsearch::new(
                settings.elasticsearch_url.clone(),
                settings.examples_timeout,
            )?,
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

pub fn run(settings: ServeSettings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let telemetry = telemetry::init()?;
    let relay = Arc::new(build_relay(&settings, &telemetry.meter())?);
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let address = listener.local_addr()?;
        // Tests and scripts read the address from this line (the port may be :0).
        eprintln!("oncall listening on http://{address}");
        tracing::info!(%address, outbox = %settings.outbox.display(), "oncall serve started");
        axum::serve(listener, relay::router(relay))
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
