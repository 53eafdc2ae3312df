//! Alert drills on the real stack (`cargo xtask up` first): steady traffic from the
//! project's load generator, faults injected through the admin API, and the whole
//! paging path checked: service -> Collector -> Prometheus rules -> Alertmanager ->
//! `oncall serve` -> outbox, with example requests found in Elasticsearch.
//!
//! One load run drills side by side, a fault per route:
//! - 15 % 5xx on /projects/{id}: ApiHighErrorRate fires between t+5m and t+6m30s; the
//!   outbox gets it with at least 3 examples whose logs command finds their 5xx logs;
//!   clearing the fault resolves it and the outbox gets the resolution;
//! - 1.5 s of latency on /todos/{id}: ApiHighLatency, the same way (slowest examples);
//! - a 60 s burst of 50 % 5xx on /projects: never fires;
//! - every other route stays silent, and ApiHighCpu is never even pending.
//!
//! Detection times are printed as FIGURE lines (docs/alerting.md).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};

use common::{layout, require_stack, Faults};
use xtask::ports::{self, url};

const ERROR_ROUTE: &str = "/projects/{id}";
const LATENCY_ROUTE: &str = "/todos/{id}";
const BURST_ROUTE: &str = "/projects";
/// The contract: a fault starting at t fires between t+5m and t+6m30s.
const EARLIEST: Duration = Duration::from_secs(5 * 60);
const LATEST: Duration = Duration::from_secs(6 * 60 + 30);

/// The load generator, stopped when the drill ends (or fails).
struct Load(Child);

impl Drop for Load {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_load() -> Result<Load> {
    let root = layout().root;
    let bin = common::loadtest_bin()?;
    // Every injected 5xx is a failed check it prints: keep them out of the test output.
    let log = root.join("target/alert-drill-loadtest.log");
    let child = Command::new(bin)
        .current_dir(&root)
        .args([
            "run",
            "loadtest/scenarios/alert-drill.toml",
            "--no-fidelity",
            "--quiet",
        ])
        .args(["--target", &url(ports::SERVICE)])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).with_context(|| format!("{}", log.display()))?)
        .spawn()
        .context("starting loadtest")?;
    Ok(Load(child))
}

/// Prometheus's alerts: (alertname, http_route or "") -> (state, activeAt).
fn prometheus_alerts() -> Result<BTreeMap<(String, String), (String, String)>> {
    let v = xtask::probe::get_json(&format!("{}/api/v1/alerts", url(ports::PROMETHEUS)))?;
    let mut out = BTreeMap::new();
    for a in v["data"]["alerts"].as_array().cloned().unwrap_or_default() {
        let labels = &a["labels"];
        let key = (
            labels["alertname"].as_str().unwrap_or_default().to_owned(),
            labels["http_route"].as_str().unwrap_or_default().to_owned(),
        );
        out.insert(
            key,
            (
                a["state"].as_str().unwrap_or_default().to_owned(),
                a["activeAt"].as_str().unwrap_or_default().to_owned(),
            ),
        );
    }
    Ok(out)
}

/// Reads the lines the relay appends to its outbox after `offset`.
struct OutboxTail {
    path: PathBuf,
    offset: u64,
    lines: Vec<Value>,
}

impl OutboxTail {
    fn from_end() -> OutboxTail {
        let path = layout().data_dir("oncall").join("outbox.ndjson");
        let offset = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        OutboxTail {
            path,
            offset,
            lines: Vec::new(),
        }
    }

    fn poll(&mut self) -> Result<()> {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        // Only whole lines; a partial one is read next time.
        let complete = text.rfind('\n').map(|i| i + 1).unwrap_or(0);
        for line in text[..complete].lines().filter(|l| !l.is_empty()) {
            self.lines
                .push(serde_json::from_str(line).context("an outbox line is not JSON")?);
        }
        self.offset += complete as u64;
        Ok(())
    }

    fn find(&self, alertname: &str, route: &str, status: &str) -> Option<&Value> {
        self.lines.iter().find(|l| {
            l["alertname"] == alertname
                && l["labels"]["http_route"] == route
                && l["status"] == status
        })
    }
}

/// Runs an example's logs command as an operator would (the stack's `oncall` build,
/// from the repository, so it finds the admin token in .stack/secrets/), returning
/// the log records it printed.
fn run_logs_command(command: &str) -> Result<Vec<Value>> {
    let root = layout().root;
    let args = command
        .strip_prefix("oncall ")
        .with_context(|| format!("not an oncall command: {command}"))?;
    let oncall = root.join("target/release/oncall");
    let out = Command::new(&oncall)
        .args(args.split_whitespace())
        .current_dir(&root)
        .output()
        .with_context(|| format!("running {}", oncall.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "{command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("{command}: not NDJSON: {l}")))
        .collect()
}

fn wait_until_quiet() -> Result<()> {
    // A drill run shortly before this one may still be resolving.
    common::wait_for(
        "earlier API alerts to resolve",
        Duration::from_secs(300),
        Duration::from_secs(5),
        || {
            let busy: Vec<_> = prometheus_alerts()?
                .into_iter()
                .filter(|((name, _), _)| name.starts_with("ApiHigh"))
                .collect();
            Ok(busy.is_empty().then_some(()))
        },
    )
}

fn secs(d: Duration) -> String {
    format!("{:.0} s", d.as_secs_f64())
}

#[test]
fn alert_drills_page_right_and_name_the_failing_requests() -> Result<()> {
    let _serial = common::serial();
    require_stack();
    assert!(
        xtask::probe::is_ok(&format!("{}/health", url(ports::ONCALL))),
        "oncall serve is not running: run `cargo xtask up` first"
    );
    assert!(
        xtask::probe::is_ok(&format!("{}/-/ready", url(ports::ALERTMANAGER))),
        "Alertmanager is not running: run `cargo xtask up` first"
    );
    wait_until_quiet()?;
    let faults = Faults::from_stack();
    faults.clear();
    let mut outbox = OutboxTail::from_end();
    let _load = start_load()?;

    // Traffic first, so every route is past the traffic guard when the faults start.
    std::thread::sleep(Duration::from_secs(30));
    let fault_start = Instant::now();
    faults.set(ERROR_ROUTE, json!({"error_rate": 0.15}))?;
    faults.set(LATENCY_ROUTE, json!({"delay_ms": 1500}))?;
    faults.set(BURST_ROUTE, json!({"error_rate": 0.5}))?;
    eprintln!("faults set: 15 % 5xx on {ERROR_ROUTE}, 1.5 s on {LATENCY_ROUTE}, 50 % 5xx burst on {BURST_ROUTE}");
    let mut burst_on = true;

    let expected = [
        ("ApiHighErrorRate", ERROR_ROUTE),
        ("ApiHighLatency", LATENCY_ROUTE),
    ];
    let mut fired: BTreeMap<&str, (Duration, String)> = BTreeMap::new();
    let mut relayed: BTreeMap<&str, Duration> = BTreeMap::new();
    let mut unexpected: BTreeSet<String> = BTreeSet::new();
    let mut cleared_at: Option<Instant> = None;
    let mut resolved: BTreeMap<&str, Duration> = BTreeMap::new();
    let deadline = fault_start + LATEST + Duration::from_secs(6 * 60);

    while resolved.len() < expected.len() {
        anyhow::ensure!(Instant::now() < deadline, "the drill did not finish in time: fired {fired:?}, relayed {relayed:?}, resolved {resolved:?}");
        if burst_on && fault_start.elapsed() >= Duration::from_secs(60) {
            // The burst ends after 60 s: a rule of zeros lets the route be.
            faults.set(BURST_ROUTE, json!({"error_rate": 0}))?;
            burst_on = false;
            eprintln!(
                "burst on {BURST_ROUTE} over after {}",
                secs(fault_start.elapsed())
            );
        }
        for ((name, route), (state, active_at)) in prometheus_alerts()? {
            let drilled = expected.iter().find(|(n, r)| *n == name && *r == route);
            match drilled {
                Some((n, _)) if state == "firing" && !fired.contains_key(n) => {
                    let at = fault_start.elapsed();
                    eprintln!(
                        "{n} firing on {route} after {} (pending since {active_at})",
                        secs(at)
                    );
                    fired.insert(n, (at, active_at));
                }
                Some(_) => {}
                // Any other route's API alert firing, and the CPU alert even pending.
                None if name == "ApiHighCpu" => {
                    unexpected.insert(format!("{name} {state}"));
                }
                None if name.starts_with("ApiHigh") && state == "firing" => {
                    unexpected.insert(format!("{name} on {route}"));
                }
                None => {}
            }
        }
        outbox.poll()?;
        for (name, route) in expected {
            if !relayed.contains_key(name) && outbox.find(name, route, "firing").is_some() {
                relayed.insert(name, fault_start.elapsed());
            }
            if cleared_at.is_some()
                && !resolved.contains_key(name)
                && outbox.find(name, route, "resolved").is_some()
            {
                resolved.insert(name, fault_start.elapsed());
            }
        }
        if cleared_at.is_none() && relayed.len() == expected.len() {
            faults.clear();
            cleared_at = Some(Instant::now());
            eprintln!(
                "both alerts relayed; faults cleared after {}",
                secs(fault_start.elapsed())
            );
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let cleared_after = cleared_at
        .map(|c| c.duration_since(fault_start))
        .unwrap_or_default();

    // Detection inside the contract's window, measured from the fault's start.
    for (name, _) in expected {
        let (at, _) = &fired[name];
        assert!(
            *at >= EARLIEST && *at <= LATEST,
            "{name} fired after {} (window 300-390 s)",
            secs(*at)
        );
    }
    assert!(
        unexpected.is_empty(),
        "alerts that should have stayed silent: {unexpected:?}"
    );
    // The burst route's notifications never came either.
    assert!(
        !outbox
            .lines
            .iter()
            .any(|l| l["labels"]["http_route"] == BURST_ROUTE),
        "a page for the 60 s burst on {BURST_ROUTE}"
    );

    // The error page names at least 3 failing requests whose logs show the 5xx.
    let page = outbox
        .find("ApiHighErrorRate", ERROR_ROUTE, "firing")
        .expect("relayed");
    assert_eq!(page["labels"]["severity"], "page");
    assert!(page["annotations"]["runbook_url"]
        .as_str()
        .unwrap_or_default()
        .contains("docs/runbooks/api.md#"));
    assert!(page["annotations"]["dashboard_url"]
        .as_str()
        .unwrap_or_default()
        .contains("/d/alertingscout-api/"));
    assert!(page["delivered_to"]
        .as_array()
        .is_some_and(|d| d.contains(&json!("outbox"))));
    let examples = page["examples"].as_array().cloned().unwrap_or_default();
    assert!(
        examples.len() >= 3,
        "only {} examples: {page}",
        examples.len()
    );
    for example in &examples {
        let id = example["request_id"].as_str().expect("request_id");
        assert_eq!(example["status_code"], 500, "{example}");
        assert!(
            example["trace_id"].as_str().is_some_and(|t| t.len() == 32),
            "{example}"
        );
        assert!(example["logs_url"]
            .as_str()
            .unwrap_or_default()
            .contains(id));
        let logs = run_logs_command(example["logs_command"].as_str().expect("logs_command"))?;
        assert!(!logs.is_empty(), "no logs for {id}");
        assert!(
            logs.iter().all(|l| l["request_id"] == id),
            "the command returns only {id}'s logs"
        );
        assert!(
            logs.iter()
                .any(|l| l["http.response.status_code"] == 500 && l["log.level"] == "ERROR"),
            "{id}: no 5xx error record in {logs:?}"
        );
    }

    // The latency page names the slowest requests.
    let slow = outbox
        .find("ApiHighLatency", LATENCY_ROUTE, "firing")
        .expect("relayed");
    let examples = slow["examples"].as_array().cloned().unwrap_or_default();
    assert!(
        examples.len() >= 3,
        "only {} slow examples: {slow}",
        examples.len()
    );
    for example in &examples {
        let ms = example["duration_ms"].as_f64().unwrap_or_default();
        assert!(ms >= 1000.0, "a slowest example took {ms} ms: {example}");
    }

    for (name, _) in expected {
        let (fire, active_at) = &fired[name];
        eprintln!(
            "FIGURE {name}: fault -> firing {}, -> outbox {}, pending since {active_at}; faults cleared at {}, -> resolved in outbox {}",
            secs(*fire),
            secs(relayed[name]),
            secs(cleared_after),
            secs(resolved[name])
        );
    }
    Ok(())
}
