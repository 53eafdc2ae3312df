//! `cargo xtask up`: prepares everything side by side (system packages, the Collector
//! build, the service build, Elasticsearch download and start), then starts the rest
//! in dependency order, each waited on until healthy: Collector, Alertmanager,
//! Prometheus, and the service last, wired to the Collector. Idempotent.

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

use crate::components::{self as c, Outcome};
use crate::install;
use xtask::layout::Layout;
use xtask::ports::{self, url};
use xtask::probe;

pub struct Options {
    pub collector_config: String,
    pub service: bool,
    /// Elasticsearch nodes: 1, or a cluster (elastic/es.sh ES_NODES).
    pub es_nodes: u16,
}

fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let out = f().with_context(|| format!("{name} failed"));
    let secs = start.elapsed().as_secs_f64();
    match &out {
        Ok(_) => eprintln!("  {name:<38} {secs:>6.1} s"),
        Err(_) => eprintln!("  {name:<38} {secs:>6.1} s  FAILED"),
    }
    out
}

fn start_step(name: &str, f: impl FnOnce() -> Result<Outcome>) -> Result<()> {
    let start = Instant::now();
    let outcome = f().with_context(|| format!("starting {name} failed"))?;
    eprintln!(
        "  {:<38} {:>6.1} s  {}",
        format!("{name}: healthy"),
        start.elapsed().as_secs_f64(),
        outcome.describe()
    );
    Ok(())
}

pub fn run(layout: &Layout, opts: &Options) -> Result<()> {
    let total = Instant::now();
    std::fs::create_dir_all(layout.logs_dir())?;
    let config = c::collector_config(layout, &opts.collector_config);
    if !config.is_file() {
        return Err(anyhow!("no Collector config at {}", config.display()));
    }

    // Every secret first: elastic/es.sh, the Collector and oncall read them.
    let compose_env = xtask::secrets::ensure_all(layout)?;
    eprintln!(
        "==> secrets in {}",
        compose_env.parent().unwrap_or(&compose_env).display()
    );
    eprintln!("==> preparing (side by side)");
    // Side by side: each is slow for its own reason (apt, Go, cargo, the JVM).
    let (packages, collector_bin, rust_bins, es) = thread::scope(|s| {
        let packages = s.spawn(|| step("system packages (apt)", install::ensure_packages));
        let collector = s.spawn(|| step("Collector build (ocb)", || c::collector_build(layout)));
        let rust = s.spawn(|| {
            step("service + oncall build (cargo --release)", || {
                c::rust_build(layout, opts.service)
            })
        });
        let es = s.spawn(|| -> Result<()> {
            step("Elasticsearch install", || c::elasticsearch_install(layout))?;
            start_step("Elasticsearch", || {
                c::elasticsearch_up(layout, opts.es_nodes)
            })
        });
        (join(packages), join(collector), join(rust), join(es))
    });
    let installed = packages?;
    if !installed.is_empty() {
        eprintln!("  installed: {}", installed.join(", "));
    }
    let collector_bin = collector_bin?;
    let rust_bins = rust_bins?;
    es?;

    eprintln!("==> starting");
    start_step("Collector", || {
        c::collector_up(layout, &collector_bin, &config, opts.es_nodes)
    })?;
    start_step("oncall serve (alert relay)", || {
        c::oncall_up(layout, &rust_bins.oncall)
    })?;
    start_step("Alertmanager", || c::alertmanager_up(layout))?;
    start_step("Prometheus", || c::prometheus_up(layout))?;
    if let Some(bin) = &rust_bins.service {
        start_step("AlertingScout service", || c::service_up(layout, bin))?;
    }

    eprintln!(
        "==> stack up in {:.1} s (Collector config: {})",
        total.elapsed().as_secs_f64(),
        config.display()
    );
    print_urls(opts.service, opts.es_nodes);
    warn_if_pipeline_unhealthy(opts.service);
    Ok(())
}

fn join<T>(h: thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    h.join()
        .map_err(|_| anyhow!("a preparation thread panicked"))?
}

fn print_urls(service: bool, es_nodes: u16) {
    let elasticsearch = if es_nodes > 1 {
        format!(
            "{} ({es_nodes} nodes, {}..{})",
            url(ports::ELASTICSEARCH),
            ports::ELASTICSEARCH,
            ports::elasticsearch_node(es_nodes)
        )
    } else {
        url(ports::ELASTICSEARCH)
    };
    let mut rows = vec![
        ("Elasticsearch", elasticsearch),
        (
            "Collector OTLP gRPC / HTTP",
            format!("{} / {}", url(ports::OTLP_GRPC), url(ports::OTLP_HTTP)),
        ),
        ("Collector health", url(ports::COLLECTOR_HEALTH)),
        (
            "Collector metrics (service / own)",
            format!(
                "{}/metrics / {}/metrics",
                url(ports::COLLECTOR_PROMETHEUS_EXPORTER),
                url(ports::COLLECTOR_METRICS)
            ),
        ),
        ("Prometheus", url(ports::PROMETHEUS)),
        ("Alertmanager", url(ports::ALERTMANAGER)),
        (
            "oncall serve (alert relay)",
            format!(
                "{} (outbox .stack/oncall/outbox.ndjson)",
                url(ports::ONCALL)
            ),
        ),
    ];
    if service {
        rows.push(("AlertingScout API", url(ports::SERVICE)));
    }
    for (name, u) in rows {
        println!("{name:<36} {u}");
    }
}

/// The service exports every few seconds; a failing export shows on its telemetry
/// health endpoint. Reported, not fatal: the stack itself is up.
fn warn_if_pipeline_unhealthy(service: bool) {
    if !service {
        return;
    }
    let telemetry = format!("{}/health/telemetry", url(ports::SERVICE));
    if probe::wait_ok(&telemetry, Duration::from_secs(15)).is_err() {
        eprintln!("warning: {telemetry} reports failing exports; see `cargo xtask status`");
    }
}
