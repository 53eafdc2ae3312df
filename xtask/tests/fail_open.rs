//! Fail open on the real stack (`cargo xtask up` first): every export switched off
//! through the admin API while requests keep coming, then switched back
//! (`PATCH`/`DELETE /admin/telemetry`, README "Fail open at run time").
//!
//! - While off: requests are served; none of their log records or spans reaches
//!   Elasticsearch, and the request counter in Prometheus stands still.
//! - After the switch back: the next requests' records arrive, and the counter counts
//!   every request, those of the off window included (the instruments kept counting,
//!   so nothing resets and `increase()` stays right).
//! - What failing open saves: the service's CPU per request with every export on,
//!   sampled down, off, and on again, from the kernel's per-thread run times (a
//!   figure, printed with the load average; the deterministic count of the same is
//!   `loadtest instructions --switches`, docs/performance.md).

mod common;

use std::time::Duration;

use anyhow::Result;
use serde_json::{json, Value};

use common::{admin_token, call, es_search, prom_scalar, require_stack, serial, unique, wait_for};

const LOGS: &str = "logs-alertingscout-*";
const TRACES: &str = "traces-alertingscout-*";
const REQUESTS: usize = 40;

/// Puts every switch back however the test ends.
struct Switched {
    auth: String,
}

impl Switched {
    fn set(&self, body: Value) -> Result<Value> {
        let r = call(
            "PATCH",
            "/admin/telemetry",
            Some(body.clone()),
            &[("authorization", &self.auth)],
        )?;
        anyhow::ensure!(r.status == 200, "PATCH {body}: {} {}", r.status, r.body);
        Ok(r.body)
    }

    fn reset(&self) -> Result<Value> {
        let r = call(
            "DELETE",
            "/admin/telemetry",
            None,
            &[("authorization", &self.auth)],
        )?;
        anyhow::ensure!(r.status == 200, "DELETE: {} {}", r.status, r.body);
        Ok(r.body)
    }
}

impl Drop for Switched {
    fn drop(&mut self) {
        let _ = self.reset();
    }
}

fn prefix_query(prefix: &str) -> Value {
    json!({ "prefix": { "request_id": prefix } })
}

/// Sends `REQUESTS` GET /projects with ids `{prefix}-{i}`; all must answer 200.
fn send(prefix: &str) -> Result<()> {
    for i in 0..REQUESTS {
        let id = format!("{prefix}-{i}");
        let r = call("GET", "/projects", None, &[("x-request-id", &id)])?;
        anyhow::ensure!(r.status == 200, "{id}: {} {}", r.status, r.body);
    }
    Ok(())
}

/// The service's CPU time so far, in ns: every thread's run time from
/// /proc/<pid>/task/*/schedstat (nanoseconds, where /proc/<pid>/stat has 10 ms ticks).
fn service_cpu_ns(pid: i32) -> Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let stat = std::fs::read_to_string(task?.path().join("schedstat")).unwrap_or_default();
        total += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(total)
}

/// CPU µs per request of the service over `n` GET /health on one kept-alive connection.
fn cpu_per_request(pid: i32, n: usize) -> Result<f64> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let uri = format!("{}/health", xtask::ports::url(xtask::ports::SERVICE));
    let before = service_cpu_ns(pid)?;
    for _ in 0..n {
        let mut r = agent.get(&uri).call()?;
        anyhow::ensure!(r.status() == 200, "GET /health: {}", r.status());
        r.body_mut().read_to_vec()?;
    }
    Ok((service_cpu_ns(pid)? - before) as f64 / 1000.0 / n as f64)
}

/// GET /projects in Prometheus: what `send` adds to.
const COUNTER: &str = "sum(http_server_request_duration_seconds_count{job=\"alertingscout\",http_route=\"/projects\",http_request_method=\"GET\"})";

fn counter() -> Result<f64> {
    prom_scalar(COUNTER)
}

#[test]
fn switching_every_export_off_and_back_loses_only_the_off_window() -> Result<()> {
    require_stack();
    let _serial = serial();
    let switched = Switched {
        auth: format!("Bearer {}", admin_token()),
    };
    let run = unique("failopen");
    let (before, off, after) = (
        format!("{run}-before"),
        format!("{run}-off"),
        format!("{run}-after"),
    );

    // Before: the baseline arrives, and the counter has caught up with it.
    send(&before)?;
    wait_for(
        "baseline records",
        Duration::from_secs(60),
        Duration::from_millis(500),
        || Ok((es_search(LOGS, prefix_query(&before), 1000)?.len() >= REQUESTS).then_some(())),
    )?;
    let base = common::prom_settled(COUNTER, Duration::from_secs(60))?;

    // Off: served as before, nothing exported.
    let state = switched.set(json!({
        "traces": {"export": false},
        "logs": {"export": false},
        "metrics": {"export": false}
    }))?;
    anyhow::ensure!(state["default"] == json!(false), "{state}");
    let health = common::call("GET", "/health/telemetry", None, &[])?;
    anyhow::ensure!(
        health.body["switches"] == state,
        "/health/telemetry shows the switches: {}",
        health.body
    );
    send(&off)?;
    // Two scrape intervals and two metric export intervals (5 s each).
    std::thread::sleep(Duration::from_secs(12));
    let during = counter()?;
    println!("FIGURE fail-open: counter before {base}, while off {during} (sent {REQUESTS})");
    anyhow::ensure!(
        during == base,
        "the counter moved while metric export was off: {base} -> {during}"
    );

    // Back on: the next requests arrive; the counter counts the off window too.
    let state = switched.reset()?;
    anyhow::ensure!(state["default"] == json!(true), "{state}");
    let back = std::time::Instant::now();
    send(&after)?;
    wait_for(
        "records after the switch back",
        Duration::from_secs(60),
        Duration::from_millis(500),
        || {
            let logs = es_search(LOGS, prefix_query(&after), 1000)?.len();
            let spans = es_search(TRACES, prefix_query(&after), 1000)?.len();
            Ok((logs >= REQUESTS && spans >= REQUESTS).then_some(()))
        },
    )?;
    let total = wait_for(
        "the counter after the switch back",
        Duration::from_secs(60),
        Duration::from_secs(1),
        || {
            let now = counter()?;
            Ok((now >= base + 2.0 * REQUESTS as f64).then_some(now))
        },
    )?;
    println!(
        "FIGURE fail-open: records and counter back {:.1} s after the switch back; counter {base} -> {total} (+{}, off window included)",
        back.elapsed().as_secs_f64(),
        total - base
    );
    let leaked_logs = es_search(LOGS, prefix_query(&off), 1000)?.len();
    let leaked_spans = es_search(TRACES, prefix_query(&off), 1000)?.len();
    anyhow::ensure!(
        leaked_logs == 0 && leaked_spans == 0,
        "records of the off window reached Elasticsearch: {leaked_logs} logs, {leaked_spans} spans"
    );
    Ok(())
}

/// The CPU per request each setting costs on the stack (printed; CPU time on a shared
/// VM moves too much to gate on), and every request served in each.
#[test]
fn cpu_per_request_follows_the_switches() -> Result<()> {
    require_stack();
    let _serial = serial();
    let switched = Switched {
        auth: format!("Bearer {}", admin_token()),
    };
    let pid = common::component_pid("service").ok_or_else(|| anyhow::anyhow!("no service pid"))?;
    let n: usize = std::env::var("FAIL_OPEN_CPU_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let settings = [
        ("every export on", None),
        (
            "traces at 10 %, GET /health access records off",
            Some(
                json!({"traces": {"sample_ratio": 0.1}, "logs": {"access_log_off": ["GET /health"]}}),
            ),
        ),
        (
            "every export off",
            Some(
                json!({"traces": {"export": false}, "logs": {"export": false}, "metrics": {"export": false}}),
            ),
        ),
        ("every export on again", None),
    ];
    cpu_per_request(pid, 1_000)?; // warm-up
    let mut figures = Vec::new();
    for (name, body) in settings {
        switched.reset()?;
        if let Some(body) = body {
            switched.set(body)?;
        }
        let us = cpu_per_request(pid, n)?;
        figures.push((name, us));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let on = figures[0].1;
    for (name, us) in &figures {
        println!(
            "FIGURE fail-open CPU: {name}: {us:.1} us of service CPU per GET /health ({:+.0} % against every export on; {n} requests; load average {})",
            (us / on - 1.0) * 100.0,
            load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        );
    }
    Ok(())
}
