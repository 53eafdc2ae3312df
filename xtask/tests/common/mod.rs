//! Shared by the tests against the running stack (`cargo xtask up` first): a client
//! for the service, Elasticsearch and Prometheus, and small statistics helpers.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use xtask::layout::Layout;
use xtask::ports::{self, url};

/// The stack is shared: tests that count requests run one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Fails loudly, never skips, when a server is missing.
pub fn require_stack() {
    for (name, probe) in [
        ("service", format!("{}/health", url(ports::SERVICE))),
        ("Prometheus", format!("{}/-/ready", url(ports::PROMETHEUS))),
        ("Collector", format!("{}/", url(ports::COLLECTOR_HEALTH))),
    ] {
        assert!(
            xtask::probe::is_ok(&probe),
            "{name} is not running ({probe}): run `cargo xtask up` first"
        );
    }
    let health = format!("{}/_cluster/health", url(ports::ELASTICSEARCH));
    assert!(
        xtask::probe::is_ok_as(&health, &es_auth(ADMIN)),
        "Elasticsearch is not running or refuses elastic-admin ({health}): run `cargo xtask up` first"
    );
}

pub use xtask::secrets::es_users::ADMIN;

/// The `Authorization` header of one of the stack's Elasticsearch users (security
/// is on: the tests read as elastic-admin unless they prove a narrower user).
pub fn es_auth(user: &str) -> String {
    xtask::secrets::es_authorization(&layout(), user)
        .unwrap_or_else(|e| panic!("the password of Elasticsearch user {user}: {e:#}"))
}

/// GET an Elasticsearch path as elastic-admin.
pub fn es_get_json(path: &str) -> Result<Value> {
    xtask::probe::get_json_as(
        &format!("{}{path}", url(ports::ELASTICSEARCH)),
        &es_auth(ADMIN),
    )
}

/// A request id no other run or test uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{nanos:x}-{}", N.fetch_add(1, Ordering::Relaxed))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(15)))
        .http_status_as_error(false)
        .build()
        .into()
}

pub struct Response {
    pub status: u16,
    pub body: Value,
    pub traceparent: Option<String>,
    pub finished: Instant,
}

impl Response {
    pub fn trace_id(&self) -> Option<&str> {
        self.traceparent.as_deref()?.split('-').nth(1)
    }
}

/// One call to the service with the headers the tests care about.
pub fn call(
    method: &str,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Result<Response> {
    call_raw(method, path, body.map(|b| b.to_string()), headers)
}

/// `call` with the body as bytes on the wire (for malformed JSON).
pub fn call_raw(
    method: &str,
    path: &str,
    body: Option<String>,
    headers: &[(&str, &str)],
) -> Result<Response> {
    let uri = format!("{}{path}", url(ports::SERVICE));
    let agent = agent();
    let mut builder = ureq::http::Request::builder().method(method).uri(&uri);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let mut resp = match body {
        Some(b) => agent.run(builder.header("content-type", "application/json").body(b)?),
        None => agent.run(builder.body(())?),
    }
    .with_context(|| format!("{method} {uri}"))?;
    let finished = Instant::now();
    let status = resp.status().as_u16();
    let traceparent = resp
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Response {
        status,
        body,
        traceparent,
        finished,
    })
}

/// `_source` of every hit of `query` in the indices matching `pattern`.
pub fn es_search(pattern: &str, query: Value, size: usize) -> Result<Vec<Value>> {
    es_search_as(ADMIN, pattern, query, size)
}

/// `es_search` as Elasticsearch user `user`.
pub fn es_search_as(user: &str, pattern: &str, query: Value, size: usize) -> Result<Vec<Value>> {
    let uri = format!(
        "{}/{pattern}/_search?ignore_unavailable=true&allow_no_indices=true",
        url(ports::ELASTICSEARCH)
    );
    let body = json!({ "size": size, "query": query, "sort": [{"@timestamp": "asc"}] });
    let mut resp = agent()
        .post(&uri)
        .header("Authorization", &es_auth(user))
        .send_json(&body)
        .with_context(|| format!("POST {uri}"))?;
    let text = resp.body_mut().read_to_string()?;
    let v: Value = serde_json::from_str(&text).context("Elasticsearch answered non-JSON")?;
    if resp.status().as_u16() != 200 {
        bail!("search failed: {text}");
    }
    Ok(v["hits"]["hits"]
        .as_array()
        .map(|hits| hits.iter().map(|h| h["_source"].clone()).collect())
        .unwrap_or_default())
}

pub fn term(field: &str, value: &str) -> Value {
    json!({ "term": { field: value } })
}

/// `data.result` of a Prometheus query API call (`api` is e.g. "query"), with `params`.
fn prom_api(api: &str, expr: &str, params: &[(&str, String)]) -> Result<Value> {
    let uri = format!("{}/api/v1/{api}", url(ports::PROMETHEUS));
    let mut request = agent().get(&uri).query("query", expr);
    for (name, value) in params {
        request = request.query(*name, value);
    }
    let mut resp = request.call().with_context(|| format!("{api} {expr}"))?;
    let text = resp.body_mut().read_to_string()?;
    let mut v: Value = serde_json::from_str(&text)?;
    if v["status"] != "success" {
        bail!("{api} {expr}: {text}");
    }
    Ok(v["data"]["result"].take())
}

/// An instant PromQL query: (labels, value) per series.
pub fn prom_query(expr: &str) -> Result<Vec<(Value, f64)>> {
    prom_query_params(expr, &[])
}

/// `prom_query` evaluated at `time` (Unix s) instead of now.
pub fn prom_query_at(expr: &str, time: f64) -> Result<Vec<(Value, f64)>> {
    prom_query_params(expr, &[("time", format!("{time:.3}"))])
}

fn prom_query_params(expr: &str, params: &[(&str, String)]) -> Result<Vec<(Value, f64)>> {
    Ok(prom_api("query", expr, params)?
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let value = r["value"][1]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(f64::NAN);
            (r["metric"].clone(), value)
        })
        .collect())
}

/// Exemplars of the series `selector` selects, from `start` to `end` (Unix s):
/// (series labels, exemplar labels, exemplar value).
pub fn prom_exemplars(selector: &str, start: f64, end: f64) -> Result<Vec<(Value, Value, f64)>> {
    let uri = format!("{}/api/v1/query_exemplars", url(ports::PROMETHEUS));
    let mut resp = agent()
        .get(&uri)
        .query("query", selector)
        .query("start", start.to_string())
        .query("end", end.to_string())
        .call()
        .with_context(|| format!("exemplars of {selector}"))?;
    let text = resp.body_mut().read_to_string()?;
    let v: Value = serde_json::from_str(&text)?;
    if v["status"] != "success" {
        bail!("exemplars of {selector}: {text}");
    }
    let mut found = Vec::new();
    for series in v["data"].as_array().cloned().unwrap_or_default() {
        for e in series["exemplars"].as_array().cloned().unwrap_or_default() {
            let value = e["value"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(f64::NAN);
            found.push((series["seriesLabels"].clone(), e["labels"].clone(), value));
        }
    }
    Ok(found)
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The single value of a query that sums to one series (0 when there is none).
pub fn prom_scalar(expr: &str) -> Result<f64> {
    Ok(prom_query(expr)?.first().map(|(_, v)| *v).unwrap_or(0.0))
}

/// The value of `expr` once it has stood still over two export and scrape intervals
/// (the service exports metrics and Prometheus scrapes every 5 s, so 11 s): a count read
/// sooner may still lack the last requests sent. Fails after `limit` if it keeps moving.
pub fn prom_settled(expr: &str, limit: Duration) -> Result<f64> {
    let start = Instant::now();
    let mut last = prom_scalar(expr)?;
    loop {
        std::thread::sleep(Duration::from_secs(11));
        let now = prom_scalar(expr)?;
        if now == last {
            return Ok(now);
        }
        if start.elapsed() > limit {
            bail!(
                "{expr} kept moving ({last} -> {now}) for {} s: something else sends requests",
                limit.as_secs()
            );
        }
        last = now;
    }
}

/// Polls `check` every `every` until it returns Some, or fails after `limit`.
pub fn wait_for<T>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if start.elapsed() > limit {
            bail!("{what}: not within {} s", limit.as_secs());
        }
        std::thread::sleep(every);
    }
}

/// Nearest-rank percentile of seconds.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn layout() -> Layout {
    Layout::discover()
}

/// The debug build of the load generator: `cargo test` holds the build lock, so it
/// is built beforehand (scripts/test.sh does), not from a test.
pub fn loadtest_bin() -> Result<std::path::PathBuf> {
    let bin = layout().root.join("target/debug/loadtest");
    anyhow::ensure!(
        bin.is_file(),
        "{} is missing: run `cargo build -p loadtest` first",
        bin.display()
    );
    Ok(bin)
}

pub fn admin_token() -> String {
    xtask::admin_token::get_or_create(&layout()).unwrap_or_default()
}

/// Faults injected through the admin API (the stack's admin token), cleared
/// however the test ends.
pub struct Faults {
    auth: String,
}

impl Faults {
    pub fn from_stack() -> Faults {
        Faults {
            auth: format!("Bearer {}", admin_token()),
        }
    }

    pub fn set(&self, route: &str, rule: Value) -> Result<()> {
        let mut body = rule;
        body["route"] = json!(route);
        let r = call(
            "POST",
            "/admin/faults",
            Some(body),
            &[("authorization", &self.auth)],
        )?;
        anyhow::ensure!(
            r.status < 300,
            "setting a fault on {route}: {} {}",
            r.status,
            r.body
        );
        Ok(())
    }

    pub fn clear(&self) {
        let _ = call(
            "DELETE",
            "/admin/faults",
            None,
            &[("authorization", &self.auth)],
        );
    }
}

impl Drop for Faults {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Runs the stack's runner (`xtask up ARGS`), which starts whatever is not running and
/// keeps the rest; fails with its stderr.
pub fn xtask_up(args: &[&str], envs: &[(&str, &str)]) -> Result<()> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("up")
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .context("running xtask up")?;
    anyhow::ensure!(
        out.status.success(),
        "xtask up {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// The pid `xtask up` recorded for `component` (.stack/run/<component>.pid), if that
/// process still runs the recorded executable (a reused pid is never signalled).
pub fn component_pid(component: &str) -> Option<i32> {
    let text = std::fs::read_to_string(layout().pid_file(component)).ok()?;
    let mut lines = text.lines();
    let pid: i32 = lines.next()?.trim().parse().ok()?;
    let exe = lines.next()?;
    let name = std::path::Path::new(exe).file_name()?.to_string_lossy();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // A zombie (state Z, after the command's last ')') has exited.
    let zombie = stat
        .rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
    (!zombie && String::from_utf8_lossy(&cmdline).contains(name.as_ref())).then_some(pid)
}

/// Sends `signal` to the running `component` and waits up to `grace` for it to exit.
pub fn signal_component(component: &str, signal: i32, grace: Duration) -> Result<()> {
    let pid = component_pid(component)
        .with_context(|| format!("{component} is not running (no live pid in its pid file)"))?;
    // SAFETY: kill(2) on a pid checked above to run the component's executable.
    let rc = unsafe { libc::kill(pid, signal) };
    anyhow::ensure!(
        rc == 0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
    wait_for(
        &format!("{component} (pid {pid}) to exit"),
        grace,
        Duration::from_millis(100),
        || Ok(component_pid(component).is_none().then_some(())),
    )
}

/// Resident memory of a process in MiB (from /proc/<pid>/status).
pub fn rss_mib(pid: i32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// One series of a range query: its labels and (Unix s, value) points.
pub type RangeSeries = (Value, Vec<(f64, f64)>);

/// A PromQL range query, per series.
pub fn prom_range(expr: &str, start: f64, end: f64, step: f64) -> Result<Vec<RangeSeries>> {
    let params = [
        ("start", format!("{start:.3}")),
        ("end", format!("{end:.3}")),
        ("step", format!("{step}")),
    ];
    Ok(prom_api("query_range", expr, &params)?
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let points = r["values"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|p| {
                    let t = p[0].as_f64()?;
                    let v = p[1].as_str()?.parse().ok()?;
                    Some((t, v))
                })
                .collect();
            (r["metric"].clone(), points)
        })
        .collect())
}
