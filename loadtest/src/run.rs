//! `loadtest run SCENARIO`: load the scenario, check the target, read the service's counts,
//! run it on goose with a live progress line, then judge thresholds and write the reports.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use crate::executor::{self, schedule, Context};
use crate::fidelity::{self, Source};
use crate::mix::Mix;
use crate::recorder::Recorder;
use crate::report::{html, summary, Header, RunReport};
use crate::scenario::{Executor, Scenario};
use crate::threshold::{Metric, Threshold};

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
    /// No live progress line.
    #[arg(long)]
    pub quiet: bool,
}

fn json_outputs(out: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    out.iter()
        .map(|o| match o.split_once('=') {
            Some(("json", file)) if !file.is_empty() => Ok(PathBuf::from(file)),
            _ => anyhow::bail!("--out {o:?}: the supported output is json=FILE"),
        })
        .collect()
}

fn extra_threshold(text: &str) -> anyhow::Result<Threshold> {
    // The key may hold ':' inside its tag ({route:...}): split at the first ':' outside
    // braces.
    let mut depth = 0i32;
    let colon = text
        .char_indices()
        .find(|&(_, c)| {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            c == ':' && depth == 0
        })
        .map(|(i, _)| i)
        .with_context(|| format!("--threshold {text:?}: expected METRIC: EXPR"))?;
    Threshold::parse(&text[..colon], &text[colon + 1..])
        .map_err(|e| anyhow::anyhow!("--threshold: {e}"))
}

fn vus(e: &Executor) -> String {
    match e {
        Executor::ArrivalRate { vus, .. } => format!("{vus} VUs"),
        Executor::Vus { start_vus, stages } => {
            let max = stages
                .iter()
                .map(|s| s.target.round() as usize)
                .chain([*start_vus])
                .max()
                .unwrap_or(0);
            format!("up to {max} VUs")
        }
    }
}

fn run_id() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("lt{t:x}{:x}", std::process::id())
}

/// Runs the scenario; Ok(true) when every threshold passed.
pub fn main(args: RunArgs) -> anyhow::Result<bool> {
    let mut scenario = Scenario::load(&args.scenario)?;
    for t in &args.thresholds {
        scenario.thresholds.push(extra_threshold(t)?);
    }
    let jsons = json_outputs(&args.out)?;
    let target = args.target.trim_end_matches('/').to_owned();
    let source = (!args.no_fidelity && scenario.fidelity).then(|| match &args.prometheus {
        Some(p) => Source::Prometheus(p.clone()),
        None => Source::Metrics(
            args.metrics_url
                .clone()
                .unwrap_or_else(|| format!("{target}/metrics")),
        ),
    });
    if source.is_some()
        && !scenario
            .thresholds
            .iter()
            .any(|t| t.metric == Metric::FidelityMismatches)
    {
        scenario.thresholds.push(
            Threshold::parse("fidelity_mismatches", "count == 0").map_err(anyhow::Error::msg)?,
        );
    }
    let fidelity_wait = |src: &Source| {
        Duration::from_secs_f64(
            args.fidelity_wait
                .unwrap_or(match src {
                    Source::Prometheus(_) => 60.0,
                    Source::Metrics(_) => 5.0,
                })
                .max(0.0),
        )
    };
    let before = match &source {
        Some(s) => Some(fidelity::baseline(s, &target, fidelity_wait(s)).with_context(|| {
            format!(
                "reading the service's counts from {} (serve them with ALERTINGSCOUT_PROMETHEUS_METRICS=on, or pass --no-fidelity)",
                s.describe()
            )
        })?),
        None => {
            fidelity::get(&format!("{target}/health"))
                .with_context(|| format!("the target {target} does not answer GET /health"))?;
            None
        }
    };

    let schedule = match &scenario.executor {
        Executor::ArrivalRate {
            start_rate, stages, ..
        } => Some(schedule::Schedule::new(schedule::offsets(
            *start_rate,
            stages,
        ))),
        Executor::Vus { .. } => None,
    };
    let ctx = Arc::new(Context {
        mix: Mix::new(&scenario.mix)?,
        user_ids: scenario.user_ids.clone(),
        schedule,
        recorder: Recorder::new(),
        run_id: run_id(),
        next_request: AtomicU64::new(0),
        seed: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    });
    eprintln!(
        "loadtest: {} ({}, {}, {:.0} s + gracefulStop {:.0} s) against {target}; x-request-id prefix {}",
        scenario.name,
        scenario.executor_type,
        vus(&scenario.executor),
        scenario.executor.duration().as_secs_f64(),
        scenario.graceful_stop.as_secs_f64(),
        ctx.run_id
    );
    let stop = AtomicBool::new(false);
    let goose = std::thread::scope(|s| {
        if !args.quiet {
            let ctx = &ctx;
            let stop = &stop;
            s.spawn(move || progress(&ctx.recorder, stop));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the runtime");
        let result = rt.and_then(|rt| {
            rt.block_on(executor::run(
                &scenario,
                Arc::clone(&ctx),
                &executor::Options {
                    target: target.clone(),
                    goose_reports: args.goose_report.clone(),
                },
            ))
        });
        stop.store(true, Ordering::Relaxed);
        result
    })?;

    let (mut metrics, series, failures, failures_total) = ctx.recorder.snapshot();
    if let Some(s) = &ctx.schedule {
        metrics.dropped_iterations = s.dropped();
        metrics.late_iterations = s.late();
    }
    let fidelity = match (&source, &before) {
        (Some(src), Some(before)) => {
            let ours: BTreeMap<String, u64> = metrics
                .routes
                .iter()
                .map(|(k, r)| (k.clone(), r.answered))
                .collect();
            let report = fidelity::compare(src, before, &ours, fidelity_wait(src))?;
            metrics.fidelity_mismatches = Some(report.mismatches);
            Some(report)
        }
        _ => None,
    };
    let outcomes = scenario
        .thresholds
        .iter()
        .map(|t| t.evaluate(&metrics))
        .collect();
    let report = RunReport::build(
        Header {
            scenario: scenario.name.clone(),
            executor: scenario.executor_type.clone(),
            target,
            vus: vus(&scenario.executor),
        },
        &metrics,
        &series,
        outcomes,
        fidelity,
        goose,
        failures,
        failures_total,
    );
    println!("{}", summary::render(&report));
    for path in &jsons {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("JSON report written to {}", path.display());
    }
    if let Some(path) = &args.html {
        std::fs::write(path, html::render(&report))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("HTML report written to {}", path.display());
    }
    Ok(report.passed)
}

/// The live progress line: on a terminal it is redrawn every second, elsewhere a line is
/// printed every 10 s.
fn progress(recorder: &Recorder, stop: &AtomicBool) {
    let tty = std::io::stderr().is_terminal();
    let every = if tty { 1 } else { 10 };
    let started = Instant::now();
    let mut last = 0u64;
    let mut tick = 0u64;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        let secs = started.elapsed().as_secs();
        if secs == tick {
            continue;
        }
        tick = secs;
        if !secs.is_multiple_of(every) {
            continue;
        }
        let (requests, failed, p95) = recorder.progress();
        let rate = (requests - last) as f64 / every as f64;
        last = requests;
        let line = format!(
            "[{secs:>5}s] {requests} requests, {rate:.0}/s, {failed} failed, p95 {}",
            p95.map_or("-".into(), |p| format!("{p:.2}ms"))
        );
        if tty {
            eprint!("\r{line}    ");
        } else {
            eprintln!("{line}");
        }
    }
    if tty {
        eprintln!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_and_extra_thresholds() {
        assert_eq!(
            json_outputs(&["json=a.json".into()]).unwrap(),
            vec![PathBuf::from("a.json")]
        );
        assert!(json_outputs(&["csv=a.csv".into()]).is_err());
        let t = extra_threshold("http_req_duration{route:GET /todos/{id}}: p(95) < 1ms").unwrap();
        assert_eq!(t.route.as_deref(), Some("GET /todos/{id}"));
        assert!(extra_threshold("http_req_duration p(95) < 1ms").is_err());
    }
}
