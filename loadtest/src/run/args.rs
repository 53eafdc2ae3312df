//! The flags of `loadtest run`.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Scenario file, e.g. loadtest/scenarios/smoke.toml.
    pub scenario: PathBuf,
    /// Base URL of the service under test.
    #[arg(long, env = "LOADTEST_TARGET", default_value = "http://127.0.0.1:8080")]
    pub target: String,
    /// Machine-readable output, k6 style: json=FILE (the end-of-test report as JSON).
    #[arg(long = "out", value_name = "json=FILE")]
    pub out: Vec<String>,
    /// Write an HTML report (latency over time, routes, checks, thresholds) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write goose's own report; the extension picks the format (.html, .json, .md).
    #[arg(long, value_name = "FILE")]
    pub goose_report: Vec<String>,
    /// Extra threshold, `METRIC: EXPR` (e.g. 'http_req_duration: p(95) < 100ms'); repeatable.
    #[arg(long = "threshold", value_name = "METRIC: EXPR")]
    pub thresholds: Vec<String>,
    /// Where the service's own counts are read [default: TARGET/metrics].
    #[arg(long, value_name = "URL")]
    pub metrics_url: Option<String>,
    /// Read the service's counts from this Prometheus server instead (native stack).
    #[arg(long, value_name = "URL", conflicts_with = "metrics_url")]
    pub prometheus: Option<String>,
    /// How long to wait for the service's counts to catch up [default: 5 s; 60 s with
    /// --prometheus, which must scrape first].
    #[arg(long, value_name = "SECONDS")]
    pub fidelity_wait: Option<f64>,
    /// Skip the fidelity check (e.g. a service without its Prometheus endpoint).
    #[arg(long)]
    pub no_fidelity: bool,
    /// One NDJSON line per request as it ends (x-request-id, route, status, latency,
    /// wall-clock times), for matching requests to their telemetry.
    #[arg(long, value_name = "FILE")]
    pub requests_out: Option<PathBuf>,
    /// No live progress line.
    #[arg(long)]
    pub quiet: bool,
}
