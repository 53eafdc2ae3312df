//! Reliability drills on the real stack (`cargo xtask up` first; issue 15): steady
//! load from the project's load generator (loadtest/scenarios/reliability.toml, every
//! request's x-request-id written with `--requests-out`), one fault per drill, and at
//! the end every request counted through the whole pipeline:
//!
//! - responses: the load generator's line per request (status 0 = no answer);
//! - logs: the access record (logger `alertingscout::telemetry::access_log`) of each
//!   answered request in `logs-alertingscout-*`, by `request_id`: exactly one;
//! - spans: the server span (`span.kind` Server) of each answered request in
//!   `traces-alertingscout-*`, by `request_id`: exactly one;
//! - metrics: the increase of `http_server_request_duration_seconds_count` over the
//!   drill in Prometheus (every series, resets counted), equal to the requests served.
//!
//! Each drill prints FIGURE lines (emitted, indexed, duplicated, lost, latency before
//! and during the fault, recovery time) and fails on any lost or duplicated record.
//! Figures and the commands that reproduce them: docs/reliability.md.
//!
//! The drills: 1. Elasticsearch stopped; 2. the Collector SIGKILLed, then stopped;
//! 3. the service sent SIGTERM; 4. Prometheus restarted; 5. the Collector's queue disk
//! full (a 16 MiB tmpfs; needs root); 6. the spike scenario (loadtest/scenarios/
//! spike.toml, up to 800 requests/s); 7. the soak scenario (soak.toml, 100 requests/s,
//! memory sampled each minute; RELIABILITY_SOAK_MINUTES, 3 by default, 30 for the
//! issue's full soak). Drills 1-5 repair through `xtask up`.
//!
//! Run one at a time, in order (they share the stack):
//! `cargo build -p loadtest && cargo test -p xtask --features stack-tests --test reliability_drills -- --nocapture --test-threads=1`.
//! `RELIABILITY_ES_OUTAGE_SECONDS` sets the Elasticsearch outage (60 s by default; the
//! issue's full drill is 300); `RELIABILITY_COLLECTOR_STOP_SECONDS` the Collector's stop
//! (60; from 150 on, TelemetryCollectorDown must fire).

mod common;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use common::{layout, require_stack, unix_now, wait_for};
use xtask::ports::{self, url};

const LOGS: &str = "logs-alertingscout-*";
const TRACES: &str = "traces-alertingscout-*";
const ACCESS_LOGGER: &str = "alertingscout::telemetry::access_log";
/// The service's requests in Prometheus; the health routes are left out (the drill
/// polls /health/telemetry itself; the scenario sends no health requests).
const COUNT: &str =
    "http_server_request_duration_seconds_count{job=\"alertingscout\",http_route!~\"/health.*\"}";
/// Load before the fault, and after the repair, so both sides have a median.
const STEADY: Duration = Duration::from_secs(15);
/// How long the pipeline may take to deliver everything once the fault is repaired.
const DRAIN_LIMIT: Duration = Duration::from_secs(240);

/// The load generator, stopped when the drill ends (or fails).
struct Load {
    child: Child,
    requests: PathBuf,
}

impl Load {
    fn start(drill: &str, scenario: &str) -> Result<Load> {
        let root = layout().root;
        let bin = common::loadtest_bin()?;
        let dir = root.join("target/reliability");
        std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
        let requests = dir.join(format!("{drill}.requests.ndjson"));
        let log = dir.join(format!("{drill}.loadtest.log"));
        let child = Command::new(bin)
            .current_dir(&root)
            .args(["run", scenario, "--no-fidelity", "--quiet"])
            .arg("--requests-out")
            .arg(&requests)
            .args(["--target", &url(ports::SERVICE)])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).with_context(|| format!("{}", log.display()))?)
            .spawn()
            .context("starting loadtest")?;
        Ok(Load { child, requests })
    }

    /// Stops the generator (SIGINT, then SIGKILL) and reads its record of every request
    /// that ended. A request in flight at the stop has no line: the count below finds
    /// its records by the run's prefix and counts it as served.
    fn stop(mut self) -> Result<Vec<Sent>> {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let start = Instant::now();
        while self.child.try_wait()?.is_none() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.so_far()
    }

    /// The lines written so far (whole lines only: the generator may be mid-line).
    fn so_far(&self) -> Result<Vec<Sent>> {
        let text = std::fs::read_to_string(&self.requests)
            .with_context(|| format!("{}", self.requests.display()))?;
        let complete = text.rfind('\n').map_or(0, |i| i + 1);
        text[..complete]
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).with_context(|| format!("a requests-out line: {l}")))
            .collect()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One line of `loadtest run --requests-out` (loadtest/src/run/request_log.rs).
#[derive(serde::Deserialize, Debug, Clone)]
struct Sent {
    request_id: String,
    #[allow(dead_code)]
    route: String,
    status: u16,
    latency_us: u64,
    sent_unix_ms: u64,
}

/// A client for the counts below: the drills' queries run while Elasticsearch indexes.
fn es_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into()
}

fn es_search_uri(index: &str, api: &str) -> String {
    format!(
        "{}/{index}/{api}?ignore_unavailable=true&allow_no_indices=true",
        url(ports::ELASTICSEARCH)
    )
}

/// The run's documents of `index` that match `filter`: the prefix on request_id and, with
/// `until_ms`, a time bound (Unix ms) that keeps a count of the early requests from
/// reading everything indexed since.
fn run_query(prefix: &str, filter: &Value, until_ms: Option<u64>) -> Value {
    let mut filters = vec![json!({"prefix": {"request_id": prefix}}), filter.clone()];
    if let Some(until) = until_ms {
        filters.push(json!({"range": {"@timestamp": {"lt": until, "format": "epoch_millis"}}}));
    }
    json!({"bool": {"filter": filters}})
}

/// How many documents match (`_count`: one cheap request, no per-id buckets).
fn es_total(index: &str, query: &Value) -> Result<u64> {
    let uri = es_search_uri(index, "_count");
    let mut resp = es_agent()
        .post(&uri)
        .header("Authorization", &common::es_auth(common::ADMIN))
        .send_json(json!({ "query": query }))
        .with_context(|| format!("POST {uri}"))?;
    let text = resp.body_mut().read_to_string()?;
    if resp.status().as_u16() != 200 {
        bail!("counting in {index}: {text}");
    }
    let v: Value = serde_json::from_str(&text).context("Elasticsearch answered non-JSON")?;
    v["count"].as_u64().context("a _count answer without count")
}

/// request_id -> number of documents matching `query`, paged through a composite
/// aggregation (no 10,000-hit limit).
fn es_counts(index: &str, query: &Value) -> Result<HashMap<String, u64>> {
    let uri = es_search_uri(index, "_search");
    let auth = common::es_auth(common::ADMIN);
    let agent = es_agent();
    let mut counts = HashMap::new();
    let mut after: Option<Value> = None;
    loop {
        let mut composite = json!({
            "size": 10000,
            "sources": [{"id": {"terms": {"field": "request_id"}}}]
        });
        if let Some(a) = &after {
            composite["after"] = a.clone();
        }
        let body = json!({
            "size": 0,
            "track_total_hits": false,
            "query": query,
            "aggs": {"ids": {"composite": composite}}
        });
        let mut resp = agent
            .post(&uri)
            .header("Authorization", &auth)
            .send_json(&body)
            .with_context(|| format!("POST {uri}"))?;
        let text = resp.body_mut().read_to_string()?;
        if resp.status().as_u16() != 200 {
            bail!("counting in {index}: {text}");
        }
        let v: Value = serde_json::from_str(&text).context("Elasticsearch answered non-JSON")?;
        let buckets = v["aggregations"]["ids"]["buckets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for b in &buckets {
            if let (Some(id), Some(n)) = (b["key"]["id"].as_str(), b["doc_count"].as_u64()) {
                counts.insert(id.to_owned(), n);
            }
        }
        match v["aggregations"]["ids"].get("after_key") {
            Some(a) if !buckets.is_empty() => after = Some(a.clone()),
            _ => return Ok(counts),
        }
    }
}

/// The increase of every series of `COUNT` from `start` to `end` (Unix s): each series'
/// rises, a drop counted as a reset (a restarted process starts again from 0). A series
/// without a sample at the start counts from its last value before the window (a
/// Collector restart makes a quiet series vanish from the scrape and come back with its
/// cumulative value), or from 0 when it never had one (a new service instance).
fn prom_increase(start: f64, end: f64) -> Result<f64> {
    // Labels without the metric name: `last_over_time` drops it.
    let key = |labels: &Value| {
        let mut labels = labels.clone();
        if let Some(map) = labels.as_object_mut() {
            map.remove("__name__");
        }
        labels.to_string()
    };
    let before: HashMap<String, f64> =
        common::prom_query_at(&format!("last_over_time({COUNT}[6h])"), start)?
            .into_iter()
            .map(|(labels, value)| (key(&labels), value))
            .collect();
    let mut total = 0.0;
    for (labels, points) in common::prom_range(COUNT, start, end, 1.0)? {
        let mut iter = points.iter();
        let Some(&(t0, first)) = iter.next() else {
            continue;
        };
        let existed = t0 <= start + 0.5;
        if !existed {
            let baseline = before.get(&key(&labels)).copied().unwrap_or(0.0);
            total += if first >= baseline {
                first - baseline
            } else {
                first
            };
        }
        let mut prev = first;
        for &(_, v) in iter {
            total += if v >= prev { v - prev } else { v };
            prev = v;
        }
    }
    Ok(total)
}

/// Waits until Prometheus has counted every request sent before the drill: the
/// count stands still over two export and scrape intervals (5 s each). Requests
/// of an earlier step (the alert drills' load) otherwise land in this drill's
/// window and count as served twice.
fn settle_counter() -> Result<()> {
    common::prom_settled(&format!("sum({COUNT})"), Duration::from_secs(120)).map(drop)
}

/// What a signal's count found per request.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    emitted: u64,
    indexed: u64,
    duplicated: u64,
    lost: u64,
}

fn tally(expected: &[&str], found: &HashMap<String, u64>) -> Tally {
    let mut t = Tally {
        emitted: expected.len() as u64,
        ..Tally::default()
    };
    for id in expected {
        match found.get(*id).copied().unwrap_or(0) {
            0 => t.lost += 1,
            n => {
                t.indexed += 1;
                t.duplicated += n - 1;
            }
        }
    }
    t
}

fn median_ms(latencies: &mut [f64]) -> f64 {
    latencies.sort_by(f64::total_cmp);
    common::percentile(latencies, 50.0)
}

/// The run's x-request-id prefix (`lt...-`) from one of its ids.
fn run_prefix(request_id: &str) -> Option<String> {
    request_id.rsplit_once('-').map(|(p, _)| format!("{p}-"))
}

/// What the drills count: access records in the logs, server spans in the traces.
fn signals() -> [(&'static str, Value); 2] {
    [
        (LOGS, json!({"term": {"log.logger": ACCESS_LOGGER}})),
        (TRACES, json!({"term": {"span.kind": "Server"}})),
    ]
}

/// Access records and server spans per request id of the run `prefix` (with `until_ms`,
/// only those stamped before it).
fn counts(
    prefix: &str,
    until_ms: Option<u64>,
) -> Result<(HashMap<String, u64>, HashMap<String, u64>)> {
    let [(logs, log_filter), (traces, span_filter)] = signals();
    Ok((
        es_counts(logs, &run_query(prefix, &log_filter, until_ms))?,
        es_counts(traces, &run_query(prefix, &span_filter, until_ms))?,
    ))
}

/// Whether both signals hold at least `n` documents of the run: a necessary condition
/// for "every one of n requests is in", one `_count` each, so the polls below run the
/// per-id count (pages of buckets, slow with a soak's ids) only when it can pass.
fn at_least(prefix: &str, until_ms: Option<u64>, n: usize) -> Result<bool> {
    for (index, filter) in signals() {
        if es_total(index, &run_query(prefix, &filter, until_ms))? < n as u64 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// When the fault began and when it was repaired (the component healthy again).
struct Window {
    fault_start_ms: u64,
    repaired_ms: u64,
    repaired: Instant,
}

/// What a drill measured, for the test's assertions and docs/reliability.md.
struct Outcome {
    logs: Tally,
    spans: Tally,
    prom_counted: f64,
    served: u64,
    five_xx_during: u64,
    no_answer_during: u64,
}

/// The drills' steady load (20 requests/s, no health routes).
const STEADY_SCENARIO: &str = "loadtest/scenarios/reliability.toml";

/// The whole drill: load, `fault` (returns once the component is back), load, then
/// the count. Prints the FIGURE lines; the caller asserts.
fn drill(name: &str, fault: impl FnOnce() -> Result<Window>) -> Result<Outcome> {
    drill_with(name, STEADY_SCENARIO, fault).map(|run| run.outcome)
}

/// A drill's outcome with the load generator's record of every request.
struct Run {
    outcome: Outcome,
    sent: Vec<Sent>,
}

/// `drill` with another scenario (one without health routes: they are left out of the
/// Prometheus count).
fn drill_with(name: &str, scenario: &str, fault: impl FnOnce() -> Result<Window>) -> Result<Run> {
    settle_counter()?;
    let prom_start = unix_now() - 1.0;
    let load = Load::start(name, scenario)?;
    let load_started = Instant::now();
    std::thread::sleep(STEADY);
    let window = fault()?;

    // Recovery: every request answered before the repair indexed (access record and
    // span), polled while the load goes on and after it stops.
    let before_repair = |sent: &[Sent]| -> Vec<String> {
        sent.iter()
            .filter(|s| s.status != 0 && s.sent_unix_ms < window.repaired_ms)
            .map(|s| s.request_id.clone())
            .collect()
    };
    // The records of a request sent before the repair are stamped before it plus the
    // generator's timeout (10 s): bounding the count there keeps it to the early
    // requests however long the load has gone on since.
    let early_until = window.repaired_ms + 60_000;
    let all_in = |ids: &[String], prefix: &str| -> Result<bool> {
        if !at_least(prefix, Some(early_until), ids.len())? {
            return Ok(false);
        }
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let (logs, spans) = counts(prefix, Some(early_until))?;
        Ok(tally(&ids, &logs).lost == 0 && tally(&ids, &spans).lost == 0)
    };
    let mut recovered: Option<Duration> = None;
    let steady = Instant::now();
    while steady.elapsed() < STEADY {
        if recovered.is_none() {
            let sent = load.so_far()?;
            if let Some(prefix) = sent.first().and_then(|s| run_prefix(&s.request_id)) {
                if all_in(&before_repair(&sent), &prefix)? {
                    recovered = Some(window.repaired.elapsed());
                }
            }
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let sent = load.stop()?;
    let held = load_started.elapsed();
    anyhow::ensure!(
        !sent.is_empty(),
        "{name}: the load generator recorded no request"
    );
    let prefix =
        run_prefix(&sent[0].request_id).context("a request id without the run's prefix")?;
    let answered: Vec<&str> = sent
        .iter()
        .filter(|s| s.status != 0)
        .map(|s| s.request_id.as_str())
        .collect();

    // Wait until every answered request's records are in, then a little longer so a
    // late replay (a duplicate) shows too. The per-id count runs only once the totals
    // can pass, and once more at the limit.
    let drain = Instant::now();
    let (logs_found, spans_found) = loop {
        if recovered.is_none() && all_in(&before_repair(&sent), &prefix)? {
            recovered = Some(window.repaired.elapsed());
        }
        let timed_out = drain.elapsed() > DRAIN_LIMIT;
        if timed_out || at_least(&prefix, None, answered.len())? {
            let (logs, spans) = counts(&prefix, None)?;
            if tally(&answered, &logs).lost == 0 && tally(&answered, &spans).lost == 0 {
                std::thread::sleep(Duration::from_secs(10));
                break counts(&prefix, None)?;
            }
            if timed_out {
                break (logs, spans);
            }
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    let logs = tally(&answered, &logs_found);
    let spans = tally(&answered, &spans_found);

    // Requests the service served that the generator has no answer for (in flight at
    // its stop, or answered after its timeout): their access record says so.
    let answered_set: HashSet<&str> = answered.iter().copied().collect();
    let unrecorded = logs_found
        .keys()
        .filter(|id| !answered_set.contains(id.as_str()))
        .count() as u64;
    let served = answered.len() as u64 + unrecorded;

    // Prometheus: scraped every 5 s, the service exports every 5 s.
    let prom_counted = wait_for(
        "Prometheus to count every request",
        Duration::from_secs(60),
        Duration::from_secs(3),
        || {
            let n = prom_increase(prom_start, unix_now())?;
            Ok(((n - served as f64).abs() < 0.5).then_some(n))
        },
    )
    .or_else(|_| prom_increase(prom_start, unix_now()))?;

    // Latency and errors before and during the fault, from the generator's record.
    let in_fault =
        |s: &&Sent| s.sent_unix_ms >= window.fault_start_ms && s.sent_unix_ms < window.repaired_ms;
    let mut before: Vec<f64> = sent
        .iter()
        .filter(|s| s.sent_unix_ms < window.fault_start_ms)
        .map(|s| s.latency_us as f64 / 1000.0)
        .collect();
    let mut during: Vec<f64> = sent
        .iter()
        .filter(in_fault)
        .filter(|s| s.status != 0)
        .map(|s| s.latency_us as f64 / 1000.0)
        .collect();
    let five_xx_during = sent
        .iter()
        .filter(in_fault)
        .filter(|s| s.status >= 500)
        .count() as u64;
    let no_answer_during = sent
        .iter()
        .filter(in_fault)
        .filter(|s| s.status == 0)
        .count() as u64;
    let rate = sent.len() as f64 / held.as_secs_f64();
    let fault_secs = (window.repaired_ms.saturating_sub(window.fault_start_ms)) as f64 / 1000.0;

    for (signal, t) in [("logs (access records)", logs), ("spans (server)", spans)] {
        eprintln!(
            "FIGURE {name}: {signal}: emitted {}, indexed {}, duplicated {}, lost {}",
            t.emitted, t.indexed, t.duplicated, t.lost
        );
    }
    eprintln!(
        "FIGURE {name}: Prometheus counted {prom_counted:.0} of {served} requests served ({} answered, {unrecorded} served without a recorded answer)",
        answered.len()
    );
    eprintln!(
        "FIGURE {name}: load {rate:.1} requests/s for {:.0} s ({} sent); fault {fault_secs:.0} s; median latency before {:.2} ms, during the fault {:.2} ms; during the fault {five_xx_during} 5xx, {no_answer_during} without an answer",
        held.as_secs_f64(),
        sent.len(),
        median_ms(&mut before),
        median_ms(&mut during),
    );
    match recovered {
        Some(r) => eprintln!(
            "FIGURE {name}: recovery: every record of the requests answered before the repair indexed {:.0} s after it",
            r.as_secs_f64()
        ),
        None => eprintln!(
            "FIGURE {name}: recovery: records still missing {} s after the repair",
            DRAIN_LIMIT.as_secs()
        ),
    }
    Ok(Run {
        outcome: Outcome {
            logs,
            spans,
            prom_counted,
            served,
            five_xx_during,
            no_answer_during,
        },
        sent,
    })
}

/// Nothing lost, nothing duplicated, every served request counted.
fn assert_complete(name: &str, o: &Outcome) {
    for (signal, t) in [("logs", o.logs), ("spans", o.spans)] {
        assert!(
            t.emitted > 0,
            "{name}: no {signal} expected: the load did not run"
        );
        assert_eq!(t.lost, 0, "{name}: {signal} lost: {t:?}");
        assert_eq!(t.duplicated, 0, "{name}: {signal} duplicated: {t:?}");
    }
    assert!(
        (o.prom_counted - o.served as f64).abs() < 0.5,
        "{name}: Prometheus counted {} requests, the service served {}",
        o.prom_counted,
        o.served
    );
}

fn unix_ms() -> u64 {
    (unix_now() * 1000.0) as u64
}

fn es_healthy() -> bool {
    xtask::probe::is_ok_as(
        &format!("{}/_cluster/health", url(ports::ELASTICSEARCH)),
        &common::es_auth(common::ADMIN),
    )
}

/// Waits until every primary shard is assigned again after Elasticsearch restarted
/// (cluster status yellow or green). `_cluster/health` answers as soon as the node is
/// up, while the daily indices' shards are still being recovered; a search then fails
/// with "all shards failed" (CI37's drill 5 counted in that gap).
fn wait_for_es_shards() -> Result<()> {
    let uri = format!(
        "{}/_cluster/health?wait_for_status=yellow&timeout=50s",
        url(ports::ELASTICSEARCH)
    );
    let mut last = String::new();
    for _ in 0..3 {
        let mut resp = es_agent()
            .get(&uri)
            .header("Authorization", &common::es_auth(common::ADMIN))
            .call()
            .with_context(|| format!("GET {uri}"))?;
        last = resp.body_mut().read_to_string()?;
        let health: Value =
            serde_json::from_str(&last).context("Elasticsearch answered non-JSON")?;
        if health["timed_out"] == false && health["status"] != "red" {
            return Ok(());
        }
    }
    bail!("Elasticsearch's shards not assigned 150 s after its restart: {last}")
}

/// `elastic/es.sh stop`, the script `cargo xtask up` and `down` use.
fn stop_elasticsearch() -> Result<()> {
    let l = layout();
    let out = Command::new(l.repo("elastic/es.sh"))
        .arg("stop")
        .env("STACK_DIR", &l.state)
        .env("ES_PORT", ports::ELASTICSEARCH.to_string())
        .output()
        .context("running elastic/es.sh stop")?;
    anyhow::ensure!(
        out.status.success(),
        "elastic/es.sh stop failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    anyhow::ensure!(
        !es_healthy(),
        "Elasticsearch still answers after es.sh stop"
    );
    Ok(())
}

/// Starts what is not running, leaving the service as it is.
fn restart_backends() -> Result<()> {
    common::xtask_up(&[], &[])
}

fn es_outage() -> Duration {
    let secs = std::env::var("RELIABILITY_ES_OUTAGE_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// Drill 1: Elasticsearch stopped under load, then started. The Collector keeps every
/// record in its persistent queue and retries without a time limit.
#[test]
fn drill_1_elasticsearch_outage_loses_nothing() -> Result<()> {
    let _serial = common::serial();
    require_stack();
    let outage = es_outage();
    let name = format!("es-outage-{}s", outage.as_secs());
    let o = drill(&name, || {
        let fault_start_ms = unix_ms();
        stop_elasticsearch()?;
        eprintln!("{name}: Elasticsearch stopped for {} s", outage.as_secs());
        std::thread::sleep(outage);
        let start = Instant::now();
        restart_backends()?;
        anyhow::ensure!(es_healthy(), "Elasticsearch not healthy after xtask up");
        wait_for_es_shards()?;
        eprintln!(
            "{name}: Elasticsearch started again ({:.0} s)",
            start.elapsed().as_secs_f64()
        );
        Ok(Window {
            fault_start_ms,
            repaired_ms: unix_ms(),
            repaired: Instant::now(),
        })
    })?;
    assert_eq!(
        o.five_xx_during, 0,
        "{name}: the service answered 5xx while Elasticsearch was down"
    );
    assert_eq!(
        o.no_answer_during, 0,
        "{name}: requests went unanswered while Elasticsearch was down"
    );
    assert_complete(&name, &o);
    Ok(())
}

/// What the service and Prometheus showed while a fault lasted, sampled each second.
#[derive(Default)]
struct Watched {
    /// Seconds after the fault's start when /health/telemetry first answered unhealthy.
    unhealthy_at: Option<f64>,
    /// The pipeline alert's states seen, with when each was first seen.
    alert_states: Vec<(String, f64)>,
    rss_mib: Vec<f64>,
}

/// Samples /health/telemetry, the alert `alert` in Prometheus and the service's RSS
/// every second on a thread, until stopped.
struct Watch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Watched>,
}

/// Whether /health/telemetry says every signal exports (200 and status "ok").
fn telemetry_healthy() -> Result<bool> {
    let r = common::call("GET", "/health/telemetry", None, &[])?;
    Ok(r.status == 200 && r.body["status"] == "ok")
}

/// The state of `alert` in Prometheus ("inactive" when it is not there).
fn alert_state(alert: &str) -> Result<String> {
    let v = xtask::probe::get_json(&format!("{}/api/v1/alerts", url(ports::PROMETHEUS)))?;
    Ok(v["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["labels"]["alertname"] == alert)
        .and_then(|a| a["state"].as_str())
        .unwrap_or("inactive")
        .to_owned())
}

impl Watch {
    fn start(alert: &'static str) -> Watch {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut w = Watched::default();
            while !flag.load(Ordering::Relaxed) {
                let at = start.elapsed().as_secs_f64();
                if w.unhealthy_at.is_none() && matches!(telemetry_healthy(), Ok(false)) {
                    w.unhealthy_at = Some(at);
                }
                // Prometheus itself may be the fault: an error is simply no sample.
                if let Ok(state) = alert_state(alert) {
                    if w.alert_states.last().is_none_or(|(s, _)| *s != state) {
                        w.alert_states.push((state, at));
                    }
                }
                if let Some(rss) = common::component_pid("service").and_then(common::rss_mib) {
                    w.rss_mib.push(rss);
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            w
        });
        Watch { stop, thread }
    }

    fn stop(self) -> Watched {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

fn collector_stop_seconds() -> Duration {
    let secs = std::env::var("RELIABILITY_COLLECTOR_STOP_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// TelemetryCollectorDown's `for:` (prometheus/rules/pipeline.yml) plus a scrape and an
/// evaluation: a stop this long must fire it.
const COLLECTOR_DOWN_FIRES_AFTER: Duration = Duration::from_secs(120 + 5 + 15 + 10);

/// Drill 2: the Collector SIGKILLed under load and restarted 30 s later, then stopped
/// (SIGTERM) for 60 s and restarted. The service keeps serving; /health/telemetry turns
/// unhealthy and back; TelemetryCollectorDown goes pending (fires when the stop is
/// longer than its 2 minutes: RELIABILITY_COLLECTOR_STOP_SECONDS=150); memory bounded.
#[test]
fn drill_2_collector_killed_and_stopped_loses_nothing() -> Result<()> {
    let _serial = common::serial();
    require_stack();
    let name = "collector-kill-and-stop";
    let stop_for = collector_stop_seconds();
    let rss_before = common::component_pid("service")
        .and_then(common::rss_mib)
        .context("the service's RSS")?;
    let mut watched = Watched::default();
    let mut healthy_again = Duration::ZERO;
    let mut alert_resolved: Option<Duration> = None;
    let o = drill(name, || {
        let fault_start_ms = unix_ms();
        let watch = Watch::start("TelemetryCollectorDown");
        common::signal_component("collector", libc::SIGKILL, Duration::from_secs(10))?;
        eprintln!("{name}: Collector SIGKILLed; restart in 30 s");
        std::thread::sleep(Duration::from_secs(30));
        common::xtask_up(&[], &[])?;
        eprintln!("{name}: Collector restarted");
        std::thread::sleep(STEADY);
        common::signal_component("collector", libc::SIGTERM, Duration::from_secs(60))?;
        eprintln!(
            "{name}: Collector stopped (SIGTERM) for {} s",
            stop_for.as_secs()
        );
        std::thread::sleep(stop_for);
        common::xtask_up(&[], &[])?;
        let repaired = Instant::now();
        let repaired_ms = unix_ms();
        eprintln!("{name}: Collector restarted");
        wait_for(
            "/health/telemetry healthy again",
            Duration::from_secs(60),
            Duration::from_millis(500),
            || Ok(telemetry_healthy()?.then_some(())),
        )?;
        healthy_again = repaired.elapsed();
        // The alert resolves at its next evaluation once the scrape succeeds.
        alert_resolved = wait_for(
            "TelemetryCollectorDown to resolve",
            Duration::from_secs(60),
            Duration::from_secs(1),
            || Ok((alert_state("TelemetryCollectorDown")? == "inactive").then_some(())),
        )
        .ok()
        .map(|()| repaired.elapsed());
        watched = watch.stop();
        Ok(Window {
            fault_start_ms,
            repaired_ms,
            repaired,
        })
    })?;

    let rss_max = watched.rss_mib.iter().copied().fold(rss_before, f64::max);
    eprintln!(
        "FIGURE {name}: /health/telemetry unhealthy {} s after the kill, healthy {:.1} s after the last restart",
        watched
            .unhealthy_at
            .map_or("never".to_owned(), |s| format!("{s:.0}")),
        healthy_again.as_secs_f64()
    );
    let states: Vec<String> = watched
        .alert_states
        .iter()
        .map(|(s, at)| format!("{s} at {at:.0} s"))
        .collect();
    eprintln!(
        "FIGURE {name}: TelemetryCollectorDown: {} (fires after 2 min down; this stop {} s); resolved {} s after the last restart",
        states.join(", "),
        stop_for.as_secs(),
        alert_resolved.map_or("never".to_owned(), |d| format!("{:.0}", d.as_secs_f64()))
    );
    eprintln!(
        "FIGURE {name}: service RSS before {rss_before:.1} MiB, max during the drill {rss_max:.1} MiB ({} samples)",
        watched.rss_mib.len()
    );

    assert_eq!(
        o.five_xx_during, 0,
        "{name}: 5xx while the Collector was down"
    );
    assert_eq!(
        o.no_answer_during, 0,
        "{name}: requests went unanswered while the Collector was down"
    );
    assert!(
        watched.unhealthy_at.is_some(),
        "{name}: /health/telemetry never turned unhealthy"
    );
    assert!(
        watched
            .alert_states
            .iter()
            .any(|(s, _)| s == "pending" || s == "firing"),
        "{name}: TelemetryCollectorDown never went pending: {states:?}"
    );
    if stop_for >= COLLECTOR_DOWN_FIRES_AFTER {
        assert!(
            watched.alert_states.iter().any(|(s, _)| s == "firing"),
            "{name}: TelemetryCollectorDown never fired in a {} s stop: {states:?}",
            stop_for.as_secs()
        );
    }
    assert!(
        alert_resolved.is_some(),
        "{name}: TelemetryCollectorDown did not resolve within 60 s: {states:?}"
    );
    // Bounded: the service's export queues hold at most 8,192 records per signal.
    assert!(
        rss_max < rss_before + 200.0,
        "{name}: the service's RSS grew from {rss_before:.1} to {rss_max:.1} MiB"
    );
    assert_complete(name, &o);
    Ok(())
}

/// Drill 3: the service sent SIGTERM under load: it finishes what it accepted and
/// flushes its telemetry, so every answered request's records arrive; `xtask up`
/// starts it again.
#[test]
fn drill_3_service_sigterm_flushes_every_answered_request() -> Result<()> {
    let _serial = common::serial();
    require_stack();
    let name = "service-sigterm";
    let o = drill(name, || {
        let fault_start_ms = unix_ms();
        common::signal_component("service", libc::SIGTERM, Duration::from_secs(30))?;
        let stopped = Instant::now();
        common::xtask_up(&[], &[])?;
        eprintln!(
            "{name}: service stopped by SIGTERM, started again by xtask up after {:.1} s",
            stopped.elapsed().as_secs_f64()
        );
        Ok(Window {
            fault_start_ms,
            repaired_ms: unix_ms(),
            repaired: Instant::now(),
        })
    })?;
    assert_eq!(o.five_xx_during, 0, "{name}: 5xx around the shutdown");
    assert_complete(name, &o);
    Ok(())
}

/// The longest time between two samples of the busiest request counter series from
/// `start` to `end` (Unix s), and when it began.
fn longest_scrape_gap(start: f64, end: f64) -> Result<(f64, f64)> {
    let range = (end - start).ceil().max(1.0) as u64;
    let uri = format!("{}/api/v1/query", url(ports::PROMETHEUS));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(15)))
        .build()
        .into();
    let mut resp = agent
        .get(&uri)
        .query("query", format!("{COUNT}[{range}s]"))
        .query("time", format!("{end:.3}"))
        .call()
        .with_context(|| format!("raw samples of {COUNT}"))?;
    let v: Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
    let busiest = v["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .max_by_key(|r| r["values"].as_array().map_or(0, Vec::len))
        .context("no samples of the request counter")?;
    let times: Vec<f64> = busiest["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p[0].as_f64())
        .collect();
    Ok(times
        .windows(2)
        .map(|w| (w[1] - w[0], w[0]))
        .fold((0.0, start), |a, b| if b.0 > a.0 { b } else { a }))
}

/// Drill 4: Prometheus restarted under load: the counters go on where they were, with
/// no gap in the samples beyond the restart itself.
#[test]
fn drill_4_prometheus_restart_leaves_no_gap_beyond_itself() -> Result<()> {
    let _serial = common::serial();
    require_stack();
    let name = "prometheus-restart";
    let mut down = (0.0, 0.0);
    let o = drill(name, || {
        let fault_start_ms = unix_ms();
        let stopped_at = unix_now();
        common::signal_component("prometheus", libc::SIGTERM, Duration::from_secs(60))?;
        common::xtask_up(&[], &[])?;
        down = (stopped_at, unix_now());
        eprintln!("{name}: Prometheus restarted in {:.1} s", down.1 - down.0);
        Ok(Window {
            fault_start_ms,
            repaired_ms: unix_ms(),
            repaired: Instant::now(),
        })
    })?;
    let (gap, gap_from) = longest_scrape_gap(down.0 - 60.0, down.1 + 60.0)?;
    let restart = down.1 - down.0;
    eprintln!(
        "FIGURE {name}: Prometheus down {restart:.1} s; longest gap between samples {gap:.1} s (from {:.1} s before the stop)",
        down.0 - gap_from
    );
    // The scrape missed during the restart and the new server's first scrape, which
    // lands anywhere in its first interval (5 s): up to 3 intervals, plus 5 s of slack.
    assert!(
        gap <= restart + 3.0 * 5.0 + 5.0,
        "{name}: a {gap:.1} s gap in the counter for a {restart:.1} s restart"
    );
    assert_complete(name, &o);
    Ok(())
}

/// Moves every file of `from` into `to` (created), copying then removing, so it works
/// across file systems (the queue folder and its tmpfs).
fn move_files(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("{}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("{}", from.display()))? {
        let path = entry?.path();
        if path.is_file() {
            let target = to.join(path.file_name().context("a file without a name")?);
            std::fs::copy(&path, &target)
                .with_context(|| format!("{} -> {}", path.display(), target.display()))?;
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// The Collector's queue folder (file_storage, OTELCOL_STORAGE_DIR as `xtask up` sets
/// it) on a tmpfs of a few MiB, with the queue files carried over. Put back on the
/// disk however the drill ends.
struct SmallQueueDisk {
    queue: PathBuf,
    backup: PathBuf,
    mounted: bool,
}

impl SmallQueueDisk {
    fn mount(size_mib: u64) -> Result<SmallQueueDisk> {
        // SAFETY: geteuid has no preconditions.
        anyhow::ensure!(
            unsafe { libc::geteuid() } == 0,
            "drill 5 mounts a size-limited tmpfs over the Collector's queue folder: run it as root"
        );
        let l = layout();
        let mut disk = SmallQueueDisk {
            queue: l.data_dir("collector").join("queue"),
            backup: l.root.join("target/reliability/queue-backup"),
            mounted: false,
        };
        // Fresh queue files on the tmpfs (the old ones keep their free pages, which
        // take minutes to fill at this load): only when the queue is empty.
        wait_for(
            "the Collector's queue to be empty",
            Duration::from_secs(60),
            Duration::from_secs(1),
            || Ok((queue_size()? == 0.0).then_some(())),
        )?;
        common::signal_component("collector", libc::SIGTERM, Duration::from_secs(60))?;
        move_files(&disk.queue, &disk.backup)?;
        let queue = disk.queue.display().to_string();
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size_mib}m"),
                "tmpfs",
                &queue,
            ],
        )?;
        disk.mounted = true;
        common::xtask_up(&[], &[])?;
        Ok(disk)
    }

    /// Bytes still free on the queue's file system.
    fn available(&self) -> Result<u64> {
        let path = std::ffi::CString::new(self.queue.as_os_str().as_encoded_bytes())?;
        // SAFETY: statvfs(3) into a zeroed struct, with a NUL-terminated path.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::statvfs(path.as_ptr(), &mut st) };
        anyhow::ensure!(rc == 0, "statvfs: {}", std::io::Error::last_os_error());
        Ok(st.f_bavail as u64 * st.f_frsize as u64)
    }

    /// Fills the file system to the last byte (written, not sparse: tmpfs only counts
    /// written pages).
    fn fill(&self) -> Result<PathBuf> {
        use std::io::Write;
        let filler = self.queue.join("filler");
        let mut file = std::fs::File::create(&filler)?;
        let chunk = vec![0u8; 4096];
        loop {
            match file.write_all(&chunk) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => return Ok(filler),
                Err(e) => return Err(e).context("filling the queue's disk"),
            }
        }
    }

    /// The Collector stopped, its queue files back on the disk, then started again by
    /// `xtask up` from those files (fails when they no longer open).
    fn restore(&mut self) -> Result<()> {
        if !self.mounted {
            return Ok(());
        }
        if common::component_pid("collector").is_some() {
            common::signal_component("collector", libc::SIGTERM, Duration::from_secs(60))?;
        }
        let _ = std::fs::remove_file(self.queue.join("filler"));
        move_files(&self.queue, &self.backup)?;
        run("umount", &[&self.queue.display().to_string()])?;
        self.mounted = false;
        move_files(&self.backup, &self.queue)?;
        common::xtask_up(&[], &[])
    }
}

impl Drop for SmallQueueDisk {
    fn drop(&mut self) {
        if let Err(e) = self.restore() {
            eprintln!("putting the Collector's queue back on the disk: {e:#}");
        }
    }
}

/// The Collector's own metrics (`otelcol_*`), summed over the lines starting with `name`.
fn collector_metric(name: &str) -> Result<f64> {
    // Bounded: with its queue disk full the Collector's metrics endpoint once stopped
    // answering, and a call without a timeout hung drill 5 past its own 150 s wait.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut resp = agent
        .get(&format!("{}/metrics", url(ports::COLLECTOR_METRICS)))
        .call()
        .context("the Collector's metrics")?;
    let text = resp.body_mut().read_to_string()?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

/// Records in the Collector's sending queues.
fn queue_size() -> Result<f64> {
    collector_metric("otelcol_exporter_queue_size{")
}

/// The Collector's own count of records its exporters could not queue.
fn enqueue_failed() -> f64 {
    collector_metric("otelcol_exporter_enqueue_failed_").unwrap_or(0.0)
}

/// Drill 5: the disk of the Collector's queue nearly full (a 16 MiB tmpfs filled to
/// 256 KiB free) while Elasticsearch is down, so the queue must grow: the Collector
/// reports it, keeps running, and once space returns and Elasticsearch is back every
/// record arrives; its queue files still open after a restart (nothing corrupt).
#[test]
fn drill_5_collector_queue_disk_full_reports_and_recovers() -> Result<()> {
    let _serial = common::serial();
    require_stack();
    let name = "queue-disk-full";
    let mut disk = SmallQueueDisk::mount(16)?;
    eprintln!("{name}: the Collector's queue on a 16 MiB tmpfs, fresh queue files");
    let log = layout().log_file("collector");
    let log_offset = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let failed_before = enqueue_failed();
    let mut reported = (0.0, String::new());
    let mut alive = true;
    let o = drill(name, || {
        let fault_start_ms = unix_ms();
        stop_elasticsearch()?;
        let filler = disk.fill()?;
        eprintln!(
            "{name}: Elasticsearch stopped, queue disk full ({} KiB free) until the Collector reports it",
            disk.available()? / 1024
        );
        // The queue files have free pages: it takes a while before they must grow.
        let report = || {
            let text = std::fs::read(&log).unwrap_or_default();
            let tail = String::from_utf8_lossy(text.get(log_offset as usize..).unwrap_or_default())
                .into_owned();
            let line: String = tail
                .lines()
                .find(|l| l.contains("no space left on device"))
                .unwrap_or_default()
                .chars()
                .take(400)
                .collect();
            (enqueue_failed() - failed_before, line)
        };
        let full = Instant::now();
        while full.elapsed() < Duration::from_secs(150) {
            alive &= common::component_pid("collector").is_some();
            reported = report();
            if reported.0 > 0.0 || !reported.1.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        eprintln!(
            "{name}: reported after {:.0} s of a full disk; 10 s more",
            full.elapsed().as_secs_f64()
        );
        std::thread::sleep(Duration::from_secs(10));
        alive &= common::component_pid("collector").is_some();
        reported = report();
        std::fs::remove_file(&filler)?;
        restart_backends()?;
        wait_for_es_shards()?;
        eprintln!("{name}: space freed, Elasticsearch started again");
        Ok(Window {
            fault_start_ms,
            repaired_ms: unix_ms(),
            repaired: Instant::now(),
        })
    })?;
    eprintln!(
        "FIGURE {name}: Collector enqueue failures while full: {:.0}; its log: {}",
        reported.0,
        if reported.1.is_empty() {
            "no \"no space left on device\" line"
        } else {
            &reported.1
        }
    );
    let restored = disk.restore();
    eprintln!(
        "FIGURE {name}: Collector restarted from the queue files on disk: {}",
        if restored.is_ok() { "ok" } else { "FAILED" }
    );
    restored?;
    assert!(alive, "{name}: the Collector died while its disk was full");
    assert!(
        reported.0 > 0.0 || !reported.1.is_empty(),
        "{name}: the Collector did not report the full disk (no enqueue failures, no log line)"
    );
    assert_complete(name, &o);
    Ok(())
}

/// Resident memory of Elasticsearch (its pid file from elastic/es.sh), in MiB.
fn elasticsearch_rss() -> Option<f64> {
    let pid_file = layout().state.join("elasticsearch/es.pid");
    let pid: i32 = std::fs::read_to_string(pid_file)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()?;
    common::rss_mib(pid)
}

/// Least-squares slope of (minutes, MiB) samples, in MiB per hour.
fn slope_per_hour(samples: &[(f64, f64)]) -> f64 {
    let n = samples.len() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let (mx, my) = samples
        .iter()
        .fold((0.0, 0.0), |(x, y), (a, b)| (x + a / n, y + b / n));
    let (num, den) = samples.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    num / den * 60.0
}

fn soak_minutes() -> u64 {
    std::env::var("RELIABILITY_SOAK_MINUTES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(3)
}

/// Drill 6: the spike scenario (loadtest/scenarios/spike.toml: 20/s, to 800/s within
/// 10 s, 20 s there, back) against the stack: no 5xx, nothing lost; the recovery time
/// is how long after the surge the per-second median latency is back within 50 % of
/// the median before it.
#[test]
fn drill_6_spike_serves_without_5xx_and_loses_nothing() -> Result<()> {
    let _serial = common::serial();
    require_stack();
    let name = "spike";
    // The scenario's own timeline: the surge starts 20 s in and is over 60 s in; the
    // drill waits STEADY (15 s) before the fault closure runs.
    let mut surge = (0u64, 0u64);
    let o = drill_with(name, "loadtest/scenarios/spike.toml", || {
        let started_ms = unix_ms() - STEADY.as_millis() as u64;
        let fault_start_ms = started_ms + 20_000;
        let repaired_ms = started_ms + 60_000;
        std::thread::sleep(Duration::from_millis(repaired_ms.saturating_sub(unix_ms())));
        surge = (fault_start_ms, repaired_ms);
        Ok(Window {
            fault_start_ms,
            repaired_ms,
            repaired: Instant::now(),
        })
    })?;
    let sent = &o.sent;
    let mut before: Vec<f64> = sent
        .iter()
        .filter(|s| s.status != 0 && s.sent_unix_ms < surge.0)
        .map(|s| s.latency_us as f64 / 1000.0)
        .collect();
    let baseline = median_ms(&mut before);
    // Per second after the surge: the first second whose median is back near the baseline.
    let mut recovered_after = None;
    for second in 0..60u64 {
        let from = surge.1 + second * 1000;
        let mut lat: Vec<f64> = sent
            .iter()
            .filter(|s| s.status != 0 && s.sent_unix_ms >= from && s.sent_unix_ms < from + 1000)
            .map(|s| s.latency_us as f64 / 1000.0)
            .collect();
        if !lat.is_empty() && median_ms(&mut lat) <= baseline * 1.5 {
            recovered_after = Some(second);
            break;
        }
    }
    let five_xx = sent.iter().filter(|s| s.status >= 500).count();
    let no_answer = sent.iter().filter(|s| s.status == 0).count();
    let mut peak: Vec<f64> = sent
        .iter()
        .filter(|s| s.status != 0 && s.sent_unix_ms >= surge.0 && s.sent_unix_ms < surge.1)
        .map(|s| s.latency_us as f64 / 1000.0)
        .collect();
    eprintln!(
        "FIGURE {name}: median latency before {baseline:.2} ms, during the surge {:.2} ms; back within 50 % {} after the surge; {five_xx} 5xx, {no_answer} without an answer",
        median_ms(&mut peak),
        recovered_after.map_or("not within 60 s".to_owned(), |s| format!("{s} s")),
    );
    assert_eq!(five_xx, 0, "{name}: 5xx during the spike");
    assert_complete(name, &o.outcome);
    Ok(())
}

/// Drill 7: the soak scenario (loadtest/scenarios/soak.toml, 100 requests/s) for
/// RELIABILITY_SOAK_MINUTES (3 in CI; the full soak is 30), the service's, the
/// Collector's and Elasticsearch's memory sampled each minute: slopes printed, the
/// service's growth bounded, nothing lost.
#[test]
fn drill_7_soak_keeps_memory_flat_and_loses_nothing() -> Result<()> {
    let _serial = common::serial();
    require_stack();
    let minutes = soak_minutes();
    let name = format!("soak-{minutes}min");
    let mut samples: Vec<(String, Vec<(f64, f64)>)> = ["service", "collector", "elasticsearch"]
        .iter()
        .map(|c| ((*c).to_owned(), Vec::new()))
        .collect();
    let o = drill_with(&name, "loadtest/scenarios/soak.toml", || {
        let fault_start_ms = unix_ms();
        let start = Instant::now();
        for minute in 0..=minutes {
            for (component, points) in samples.iter_mut() {
                let rss = if component == "elasticsearch" {
                    elasticsearch_rss()
                } else {
                    common::component_pid(component).and_then(common::rss_mib)
                };
                if let Some(rss) = rss {
                    points.push((minute as f64, rss));
                }
            }
            if minute < minutes {
                let next = Duration::from_secs(60 * (minute + 1));
                std::thread::sleep(next.saturating_sub(start.elapsed()));
            }
        }
        Ok(Window {
            fault_start_ms,
            repaired_ms: unix_ms(),
            repaired: Instant::now(),
        })
    })?;
    for (component, points) in &samples {
        let mib: Vec<String> = points.iter().map(|(_, m)| format!("{m:.0}")).collect();
        eprintln!(
            "FIGURE {name}: {component} RSS each minute [{}] MiB; slope {:+.1} MiB/hour",
            mib.join(", "),
            slope_per_hour(points)
        );
    }
    let service = &samples[0].1;
    anyhow::ensure!(
        service.len() as u64 == minutes + 1,
        "{name}: the service's RSS was not sampled each minute: {service:?}"
    );
    let growth = service.last().map_or(0.0, |l| l.1) - service[0].1;
    assert!(
        growth < 100.0,
        "{name}: the service's RSS grew {growth:.1} MiB in {minutes} min"
    );
    assert_eq!(o.outcome.five_xx_during, 0, "{name}: 5xx during the soak");
    assert_complete(&name, &o.outcome);
    Ok(())
}
