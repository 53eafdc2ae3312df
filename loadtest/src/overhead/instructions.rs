//! `loadtest instructions`: the deterministic half of the overhead gate (AC-005).
//!
//! Instructions do not depend on the machine's noise, so unlike the wall-clock gate this
//! one may fail CI. Callgrind counts every instruction of the real router driven in
//! process (`service/examples/telemetry_cost.rs`: tower `oneshot`, the real export path
//! to an in-process OTLP receiver, the export thread included) for N and for 2N
//! requests after the same warm-up, so start-up and shutdown cancel out:
//! instructions per request = (I(2N) - I(N)) / N, telemetry on and off; the gate is the
//! difference. Export timers are set past the run's end, so batches are cut by size
//! (512) and the final flush only: the count does not depend on how fast valgrind runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};
use otlp_sink::Sink;
use serde::Serialize;

use testkit::bench::load_average;

/// Telemetry's added instructions per request that fail the gate. GET /health's was
/// lowered on 2026-12-03 after issue 14's fifth round (the record queue in batch-sized
/// buffers): 7,835, 7,847 and 7,840 in three runs here, plus 15 %, because fresh-clone CI
/// runs have counted GET up to 10.6 % above the same code here (11,632 against 10,520 on
/// the second round). POST /projects' was lowered after the fourth round (database spans
/// and events as the lean path's own records): 14,127, 13,058 and 13,986 in three runs,
/// plus 10 %; the fifth round counts 13,279-13,783, so it stays. The count moves with how
/// valgrind interleaves the request and export threads, which decides the batches
/// (docs/performance.md, "Instruction counts"); GET /health no longer does (a push never
/// copies queued records now), POST /projects still by about 3 %. The sixth round (the
/// gRPC body sent as written) counts GET 7,014-7,440 and POST 11,965-13,034 in four runs:
/// 8,600 (the highest plus 15 %) and 14,400 (plus 10 %). The seventh round (record times
/// as Unix nanoseconds) counts GET 6,640-7,118 and POST 11,967-12,407 in six runs: 8,200
/// and 13,700, by the same rule.
/// Lower them as the telemetry gets cheaper; never raise them to make a change pass. With
/// ALERTINGSCOUT_OTLP_EXPORTER=sdk in the environment the same command counts the stock
/// path (no budget fits it: 26,081 and 72,424 on 2026-12-01).
pub const BUDGET_HEALTH: u64 = 8_200;
pub const BUDGET_POST: u64 = 13_700;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The in-process driver, built with `cargo build --release -p alertingscout --examples`.
    #[arg(long, default_value = "target/release/examples/telemetry_cost")]
    pub example: PathBuf,
    /// N: the measured runs send N and 2N requests.
    #[arg(long, default_value_t = 2_000)]
    pub requests: u64,
    /// Requests before the counted ones, the same in every run.
    #[arg(long, default_value_t = 200)]
    pub warmup: u64,
    /// Budget for GET /health, added instructions per request.
    #[arg(long, default_value_t = BUDGET_HEALTH)]
    pub budget_health: u64,
    /// Budget for POST /projects, added instructions per request.
    #[arg(long, default_value_t = BUDGET_POST)]
    pub budget_post: u64,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Run-time export switches to apply before counting, as the body of
    /// `PATCH /admin/telemetry` (e.g. '{"traces":{"sample_ratio":0}}'): what
    /// failing open saves per request.
    #[arg(long)]
    pub switches: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Figure {
    pub endpoint: &'static str,
    pub off: f64,
    pub on: f64,
    pub added: f64,
    pub budget: u64,
    pub meets: bool,
}

/// The total instruction count from a callgrind output file (`summary:` or `totals:`).
pub fn total_instructions(callgrind_out: &str) -> Option<u64> {
    callgrind_out
        .lines()
        .rev()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Per-request instructions from runs of n and 2n requests.
pub fn per_request(at_n: u64, at_2n: u64, n: u64) -> f64 {
    (at_2n as f64 - at_n as f64) / n as f64
}

struct Counter<'a> {
    args: &'a Args,
    endpoint: SocketAddr,
    dir: PathBuf,
}

impl Counter<'_> {
    fn count(&self, telemetry_on: bool, endpoint: &str, requests: u64) -> anyhow::Result<u64> {
        let mode = if telemetry_on { "on" } else { "off" };
        let out = self
            .dir
            .join(format!("callgrind.{endpoint}.{mode}.{requests}"));
        let status = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(&self.args.example)
            .args([
                mode,
                &requests.to_string(),
                endpoint,
                &self.args.warmup.to_string(),
            ])
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://{}", self.endpoint),
            )
            // Past the run's end: batches cut by size and the final flush only.
            .env("OTEL_BSP_SCHEDULE_DELAY", "3600000")
            .env("OTEL_BLRP_SCHEDULE_DELAY", "3600000")
            .env("OTEL_METRIC_EXPORT_INTERVAL", "3600000")
            .env("RUST_LOG", "info")
            .envs(
                self.args
                    .switches
                    .as_ref()
                    .map(|s| ("TELEMETRY_COST_SWITCHES", s)),
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(out.with_extension("log"))?)
            .status()
            .context("running valgrind (Debian package valgrind)")?;
        if !status.success() {
            bail!(
                "callgrind run {endpoint} {mode} {requests} failed ({status}); see {}",
                out.with_extension("log").display()
            );
        }
        let text = std::fs::read_to_string(&out).with_context(|| format!("{}", out.display()))?;
        total_instructions(&text).with_context(|| format!("no totals in {}", out.display()))
    }

    /// Both endpoints, then a check that the `on` runs really exported.
    fn figures(&self, sink: &Sink) -> anyhow::Result<Vec<Figure>> {
        let figures = vec![
            self.figure("health", self.args.budget_health)?,
            self.figure("post", self.args.budget_post)?,
        ];
        let received = sink.counts();
        // Switches may turn spans or logs off on purpose.
        anyhow::ensure!(
            self.args.switches.is_some() || (received.spans > 0 && received.log_records > 0),
            "the receiver got no telemetry from the `on` runs: {received:?}"
        );
        Ok(figures)
    }

    fn figure(&self, endpoint: &'static str, budget: u64) -> anyhow::Result<Figure> {
        let n = self.args.requests;
        let mut per = [0.0; 2];
        for (i, on) in [false, true].into_iter().enumerate() {
            let at_n = self.count(on, endpoint, n)?;
            let at_2n = self.count(on, endpoint, 2 * n)?;
            per[i] = per_request(at_n, at_2n, n);
        }
        let added = per[1] - per[0];
        Ok(Figure {
            endpoint,
            off: per[0],
            on: per[1],
            added,
            budget,
            meets: added <= budget as f64,
        })
    }
}

pub fn main(args: Args) -> anyhow::Result<bool> {
    anyhow::ensure!(
        args.example.is_file(),
        "{} not found: build it with `cargo build --release -p alertingscout --examples`",
        args.example.display()
    );
    anyhow::ensure!(
        Command::new("valgrind")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "valgrind is not installed (apt-get install valgrind): the instruction gate cannot run"
    );
    let sink = otlp_sink::Background::start(false).context("starting the OTLP receiver")?;
    // Kept when the gate fails with an error: its messages point at the logs in it.
    let scratch = tempfile::Builder::new()
        .prefix("loadtest-instructions-")
        .tempdir()
        .context("creating a scratch directory")?;
    let counter = Counter {
        args: &args,
        endpoint: sink.grpc_addr(),
        dir: scratch.path().to_owned(),
    };
    eprintln!(
        "loadtest instructions: callgrind, {} and {} requests after {} warm-up, telemetry off and on (load average {})",
        args.requests,
        2 * args.requests,
        args.warmup,
        load_average()
    );
    if let Some(switches) = &args.switches {
        eprintln!("  with the run-time export switches {switches}");
    }
    let figures = match counter.figures(&sink) {
        Ok(figures) => figures,
        Err(e) => {
            let _ = scratch.keep();
            return Err(e);
        }
    };
    print_table(&figures);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&figures)?)?;
    }
    Ok(figures.iter().all(|f| f.meets))
}

fn print_table(figures: &[Figure]) {
    println!(
        "{:<16} {:>12} {:>12} {:>12} {:>10}  verdict",
        "instructions/req", "off", "on", "added", "budget"
    );
    for f in figures {
        let name = match f.endpoint {
            "health" => "GET /health",
            _ => "POST /projects",
        };
        println!(
            "{name:<16} {:>12.0} {:>12.0} {:>12.0} {:>10}  {}",
            f.off,
            f.on,
            f.added,
            f.budget,
            if f.meets { "meets" } else { "ABOVE" }
        );
    }
    println!("load average {}", load_average());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_are_read_from_callgrind_output() {
        let out =
            "version: 1\ncmd: x\nevents: Ir\nfl=a.rs\n1 5\nsummary: 123456\n\ntotals: 123456\n";
        assert_eq!(total_instructions(out), Some(123_456));
        assert_eq!(total_instructions("events: Ir\n"), None);
    }

    #[test]
    fn start_up_cancels_out() {
        // 1,000,000 of start-up plus 30,000 per request.
        let run = |n: u64| 1_000_000 + 30_000 * n;
        assert_eq!(per_request(run(2_000), run(4_000), 2_000), 30_000.0);
    }
}
