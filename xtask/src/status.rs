//! `cargo xtask status`: each component's health, then the pipeline's: Prometheus
//! targets, documents indexed in Elasticsearch, and the Collector's own counters
//! (accepted, sent, failed, queued). Exits non-zero when a component is down.

use anyhow::{bail, Result};

use crate::components::{self as c};
use crate::process;
use xtask::layout::Layout;
use xtask::ports::{self, url};
use xtask::probe;
use xtask::secrets;

pub fn run(layout: &Layout) -> Result<()> {
    println!("{:<14} {:<8} {:<8} probe", "component", "pid", "health");
    let mut down = Vec::new();
    for component in c::Component::ALL {
        let pid = if component == c::Component::Elasticsearch {
            c::elasticsearch_pid(layout)
        } else {
            process::running(layout, component.name()).map(|t| t.pid)
        };
        let pid = pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
        let health = component.health_url();
        let ok = component.is_healthy(layout);
        if !ok {
            down.push(component.name());
        }
        let state = if ok { "ok" } else { "DOWN" };
        println!("{:<14} {pid:<8} {state:<8} {health}", component.name());
    }
    println!();
    pipeline(layout);
    if !down.is_empty() {
        bail!("not healthy: {}", down.join(", "));
    }
    Ok(())
}

fn pipeline(layout: &Layout) {
    println!("pipeline");
    elasticsearch_cluster(layout);
    match probe::get_json(&format!("{}/api/v1/targets", url(ports::PROMETHEUS))) {
        Ok(v) => {
            let targets = v["data"]["activeTargets"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for t in targets {
                println!(
                    "  prometheus target {:<26} {:<5} {}",
                    t["labels"]["job"].as_str().unwrap_or("?"),
                    t["health"].as_str().unwrap_or("?"),
                    t["lastError"].as_str().unwrap_or("")
                );
            }
        }
        Err(e) => println!("  prometheus targets: {e:#}"),
    }
    for (signal, pattern) in [
        ("logs", "logs-alertingscout-*"),
        ("traces", "traces-alertingscout-*"),
    ] {
        let u = format!("{}/{pattern}/_count", url(ports::ELASTICSEARCH));
        let counted = secrets::es_authorization(layout, secrets::es_users::ADMIN)
            .and_then(|auth| probe::get_json_as(&u, &auth));
        match counted {
            Ok(v) => println!("  elasticsearch {signal:<7} documents {}", v["count"]),
            Err(e) => println!("  elasticsearch {signal:<7} {e:#}"),
        }
    }
    match probe::get_text(&format!("{}/metrics", url(ports::COLLECTOR_METRICS))) {
        Ok(text) => collector_counters(&text),
        Err(e) => println!("  collector metrics: {e:#}"),
    }
    let telemetry = format!("{}/health/telemetry", url(ports::SERVICE));
    match probe::status(&telemetry) {
        Some(200) => println!("  service telemetry export: ok"),
        Some(code) => {
            println!("  service telemetry export: FAILING (HTTP {code} from {telemetry})")
        }
        None => println!("  service telemetry export: service not reachable"),
    }
}

/// Cluster health and node count; a cluster started with `up --es-nodes N` also
/// shows N, and which nodes answer.
fn elasticsearch_cluster(layout: &Layout) {
    let wanted = c::elasticsearch_nodes_wanted(layout);
    match c::elasticsearch_health(layout, wanted) {
        Ok(h) => {
            let nodes = h["number_of_nodes"].as_u64().unwrap_or(0);
            let of = if wanted > 1 {
                format!(" of {wanted}")
            } else {
                String::new()
            };
            println!(
                "  elasticsearch cluster {} {nodes}{of} node(s), {} unassigned shard(s)",
                h["status"].as_str().unwrap_or("?"),
                h["unassigned_shards"]
            );
        }
        Err(e) => println!("  elasticsearch cluster health: {e:#}"),
    }
    if wanted > 1 {
        for i in 1..=wanted {
            let port = ports::elasticsearch_node(i);
            let state = if probe::port_in_use(port) {
                "up"
            } else {
                "DOWN"
            };
            println!("  elasticsearch node-{i} {:<5} {}", state, url(port));
        }
    }
}

fn collector_counters(text: &str) {
    for signal in ["spans", "log_records", "metric_points"] {
        let accepted =
            probe::sum_samples(text, &format!("otelcol_receiver_accepted_{signal}"), &[]);
        let refused = probe::sum_samples(text, &format!("otelcol_receiver_refused_{signal}"), &[]);
        let sent = probe::sum_samples(text, &format!("otelcol_exporter_sent_{signal}"), &[]);
        let failed =
            probe::sum_samples(text, &format!("otelcol_exporter_send_failed_{signal}"), &[]);
        println!(
            "  collector {signal:<13} accepted {accepted:>9} refused {refused:>6} sent {sent:>9} send_failed {failed:>6}"
        );
    }
    for outcome in ["indexed", "duplicate", "failed", "retried"] {
        let n = probe::sum_samples(
            text,
            "otelcol_elasticsearch_docs_processed",
            &[("outcome", outcome)],
        );
        println!("  collector elasticsearch documents {outcome:<10} {n:>9}");
    }
    let queued = probe::sum_samples(text, "otelcol_exporter_queue_size", &[]);
    let capacity = probe::sum_samples(text, "otelcol_exporter_queue_capacity", &[]);
    println!("  collector sending queue {queued} / {capacity}");
}
