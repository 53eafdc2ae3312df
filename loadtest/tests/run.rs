//! `loadtest run` end to end against the real alertingscout binary on a random port:
//! passing thresholds exit 0, an impossible one exits 99, the run's counts equal the
//! service's own /metrics counts, a fidelity mismatch fails the run, and a bad scenario
//! file is refused with the field named. No assertion depends on timing.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use testkit::process::Spawned;

/// The service binary next to ours (cargo test --workspace builds it; otherwise run
/// `cargo build -p alertingscout` first).
fn service_binary() -> PathBuf {
    let ours = Path::new(env!("CARGO_BIN_EXE_loadtest"));
    let bin = ours.with_file_name(format!("alertingscout{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p alertingscout` (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

/// A fresh alertingscout on a free port, its database and reports in a temp dir;
/// killed, then the dir removed, on drop (fields drop in this order).
struct Service {
    url: String,
    _process: Spawned,
    dir: tempfile::TempDir,
}

impl Service {
    fn start() -> Service {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut command = testkit::service::command(&service_binary(), dir.path());
        command
            .env("ALERTINGSCOUT_PROMETHEUS_METRICS", "on")
            // Telemetry on, exporting to a port where nothing listens.
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9");
        let process = testkit::service::start(command, Duration::from_secs(60));
        Service {
            url: process.address.clone(),
            _process: process,
            dir,
        }
    }
}

const TINY: &str = r#"
name = "tiny"
[executor]
type = "constant-arrival-rate"
rate = 20
duration = "2s"
preAllocatedVUs = 4
gracefulStop = "5s"
[mix]
"GET /health" = 1
"POST /projects" = 3
"GET /projects/{id}" = 3
"DELETE /projects/{id}" = 1
"POST /projects/{project_id}/todos" = 3
"GET /projects/{project_id}/todos" = 2
"GET /todos/{id}" = 2
"PATCH /todos/{id}" = 2
"DELETE /todos/{id}" = 1
[users]
pool = 3
[thresholds]
http_req_duration = ["p(95) < 30s"]
http_req_failed = ["rate < 0.01"]
checks = ["rate > 0.99"]
"http_req_duration{route:POST /projects}" = ["max < 30s"]
"#;

fn scenario_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn loadtest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run loadtest")
}

fn explain(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("json output")).expect("valid json")
}

/// `loadtest run` of `text` against the service with `--out json`, plus `extra` flags.
/// Returns the output and the JSON report, if one was written.
fn run_scenario(svc: &Service, name: &str, text: &str, extra: &[&str]) -> (Output, Option<Value>) {
    let scenario = scenario_file(svc.dir.path(), name, text);
    let out_json = svc.dir.path().join(format!("{name}.json"));
    let out_flag = format!("json={}", out_json.display());
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--target",
        &svc.url,
        "--out",
        &out_flag,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let out = loadtest(&args);
    let report = out_json.is_file().then(|| json(&out_json));
    (out, report)
}

/// The service's request count per "METHOD route", read here independently of loadtest:
/// over a plain socket, not loadtest's HTTP client, so a fault in that client or in the
/// fidelity code cannot hide itself; parsed by the workspace's one exposition parser.
fn service_counts(base: &str) -> std::collections::BTreeMap<String, u64> {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let sums = promtext::sum_by(
        &text,
        "http_server_request_duration_seconds_count",
        &["http_request_method", "http_route"],
    );
    sums.into_iter()
        .map(|(key, count)| (key.join(" "), count as u64))
        .collect()
}

#[test]
fn passing_thresholds_exit_0_and_counts_match_the_service() {
    let svc = Service::start();
    let html = svc.dir.path().join("report.html");
    let before = service_counts(&svc.url);
    let (out, report) = run_scenario(
        &svc,
        "tiny-pass.toml",
        TINY,
        &["--html", html.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = report.expect("JSON report");
    assert_eq!(report["passed"], true);
    // 20/s for 2 s: 40 iterations, every one answered.
    assert_eq!(report["total"]["requests"], 40, "{}", explain(&out));
    assert_eq!(report["dropped_iterations"], 0);
    assert_eq!(
        report["goose"]["requests"], 40,
        "goose counted the same requests"
    );
    assert_eq!(report["fidelity"]["mismatches"], 0);
    let thresholds = report["thresholds"].as_array().unwrap();
    assert!(thresholds
        .iter()
        .any(|t| t["threshold"]["source"] == "fidelity_mismatches: count == 0"));

    // (c) fidelity, checked here against the service's /metrics directly. loadtest probes
    // GET /health once before it reads its own "before" counts.
    let after = service_counts(&svc.url);
    let routes = report["routes"].as_array().unwrap();
    assert!(routes.len() >= 5, "the mix reached most routes: {routes:?}");
    for route in routes {
        let name = route["route"].as_str().unwrap();
        let counted =
            after.get(name).copied().unwrap_or(0) - before.get(name).copied().unwrap_or(0);
        let probe = u64::from(name == "GET /health");
        assert_eq!(
            route["requests"].as_u64().unwrap() + probe,
            counted,
            "{name}: loadtest vs the service's own count"
        );
    }
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("Latency over time"));
}

#[test]
fn an_impossible_threshold_exits_99() {
    let svc = Service::start();
    let (out, report) = run_scenario(
        &svc,
        "tiny-fail.toml",
        TINY,
        &["--threshold", "http_req_duration: p(95) < 0.001ms"],
    );
    assert_eq!(out.status.code(), Some(99), "{}", explain(&out));
    let report = report.expect("JSON report");
    assert_eq!(report["passed"], false);
    let failed: Vec<&Value> = report["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["pass"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "only the impossible one fails: {failed:?}");
    assert_eq!(
        failed[0]["threshold"]["source"],
        "http_req_duration: p(95) < 0.001ms"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("THRESHOLDS FAILED"));
}

#[test]
fn closed_model_runs_on_goose_users() {
    let svc = Service::start();
    let text = TINY.replace(
        "type = \"constant-arrival-rate\"\nrate = 20\nduration = \"2s\"\npreAllocatedVUs = 4",
        "type = \"ramping-vus\"\nstages = [{ duration = \"1s\", target = 2 }, { duration = \"1s\", target = 2 }]",
    );
    assert!(text.contains("ramping-vus"));
    let (out, report) = run_scenario(&svc, "tiny-vus.toml", &text, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = report.expect("JSON report");
    assert!(report["total"]["requests"].as_u64().unwrap() > 0);
    assert_eq!(report["fidelity"]["mismatches"], 0);
    assert_eq!(report["goose"]["requests"], report["total"]["requests"]);
}

/// A metrics endpoint that never counts anything: every route mismatches.
fn frozen_metrics() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/health\"} 1\n";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/metrics")
}

#[test]
fn a_fidelity_mismatch_fails_the_run() {
    let svc = Service::start();
    let metrics = frozen_metrics();
    let (out, report) = run_scenario(
        &svc,
        "tiny-fidelity.toml",
        TINY,
        &["--metrics-url", &metrics, "--fidelity-wait", "0"],
    );
    assert_eq!(
        report.expect("JSON report")["fidelity"]["mismatches"]
            .as_u64()
            .map(|n| n > 0),
        Some(true)
    );
    assert_eq!(out.status.code(), Some(99), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("✗ fidelity_mismatches: count == 0"),
        "{stdout}"
    );
}

#[test]
fn a_bad_scenario_names_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = scenario_file(
        dir.path(),
        "bad.toml",
        &TINY.replace(
            "preAllocatedVUs = 4",
            "preAllocatedVUs = 4\nrate_per_minute = 3",
        ),
    );
    let out = loadtest(&["run", scenario.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rate_per_minute"));
    let scenario = scenario_file(
        dir.path(),
        "bad-threshold.toml",
        &TINY.replace("rate < 0.01", "rate < lots"),
    );
    let out = loadtest(&["run", scenario.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("http_req_failed") && err.contains("lots"),
        "{err}"
    );
}
