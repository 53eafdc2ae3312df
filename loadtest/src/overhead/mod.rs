//! The telemetry overhead gate (AC-005): what telemetry costs the AlertingScout server,
//! per request. Two commands:
//!
//! - `loadtest overhead` ([`main`]): the same binary runs in three telemetry [`mode`]s,
//!   off (OTEL_SDK_DISABLED=true), sdk (the stock exporters) and lean (ours), the order
//!   rotating each round. The server has CPU 0 to itself; this process (load generator
//!   and an in-process OTLP receiver) lives on CPU 1. One round's run is [`mode_run`],
//!   its load [`load`], the pairing of modes within rounds [`figure`] and [`summary`],
//!   the verdicts [`budget`], the text [`report`].
//! - `loadtest instructions` ([`instructions`]): the deterministic half, callgrind's
//!   instruction counts of the in-process driver.
//!
//! See docs/performance.md.

pub mod affinity;
pub mod args;
pub mod budget;
pub mod cpu;
pub mod endpoint;
pub mod figure;
pub mod instructions;
pub mod load;
pub mod mode;
pub mod mode_run;
pub mod report;
pub mod server;
pub mod summary;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use crate::overhead::args::{Args, Settings};
use crate::overhead::mode_run::Run;

#[derive(Serialize)]
struct JsonOut<'a> {
    settings: &'a Settings,
    runs: &'a [Run],
    summary: &'a summary::Summary,
}

/// Runs the whole gate; returns whether every budget was met (the caller maps that to
/// the exit code).
pub fn main(args: Args) -> anyhow::Result<bool> {
    let s = args.settings()?;
    anyhow::ensure!(
        s.binary.is_file(),
        "{} not found: build it with `cargo build --release -p alertingscout` (or pass --binary)",
        s.binary.display()
    );

    // Pin before any thread exists so the sink runtime and load threads inherit CPU 1.
    let cpus = affinity::available_cpus();
    if cpus <= s.server_cpu.max(s.bench_cpu) {
        eprintln!("warning: only {cpus} CPU(s); server and bench will share cores, numbers are not comparable");
    } else {
        testkit::bench::pin_current_thread(s.bench_cpu).context("pinning the bench to its core")?;
    }

    // The receiver has its own runtime (one worker thread) so it answers exports while
    // the main thread blocks in load loops; both OTLP protocols, for --protocol.
    let sink = otlp_sink::Background::start(true).context("starting the OTLP receiver")?;

    // A fresh scratch directory unless --workdir names one; removed at the end (and on
    // an error, if fresh) unless --keep.
    let (workdir, scratch): (PathBuf, Option<tempfile::TempDir>) = match &args.workdir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::Builder::new()
                .prefix("loadtest-overhead-")
                .tempdir()
                .context("creating a scratch directory")?;
            let path = temp.path().to_owned();
            if args.keep {
                let _ = temp.keep();
                (path, None)
            } else {
                (path, Some(temp))
            }
        }
    };
    let list = |items: Vec<String>| format!("[{}]", items.join(", "));
    eprintln!(
        "loadtest overhead: {} rounds x {} x {}, saturation {}+{} s with {} conns, {} req/s for {} s; server CPU {}, bench CPU {}, OTLP {} (load average {})",
        s.rounds,
        list(s.modes.iter().map(ToString::to_string).collect()),
        list(s.endpoints.iter().map(ToString::to_string).collect()),
        s.warmup_s, s.duration_s, s.connections, s.rate,
        s.open_duration_s, s.server_cpu, s.bench_cpu, s.protocol, testkit::bench::load_average()
    );
    if s.rounds % s.modes.len() != 0 {
        eprintln!(
            "note: {} rounds do not put each of {} modes in each position equally often (use a multiple of {})",
            s.rounds,
            s.modes.len(),
            s.modes.len()
        );
    }

    let started = Instant::now();
    let mut runs = Vec::new();
    for round in 0..s.rounds {
        // Rotate which mode goes first so warm-up or drift effects hit all equally.
        for m in mode::order(&s.modes, round) {
            let dir: PathBuf = workdir.join(format!("round{}-{m}", round + 1));
            let r = mode_run::run_once(&s, &sink, round, m, &dir)
                .with_context(|| format!("round {} mode {m}", round + 1))?;
            eprintln!("{}", progress(&r, started));
            if !args.keep {
                let _ = std::fs::remove_dir_all(&dir);
            }
            runs.push(r);
        }
    }

    let summary = summary::summarize(&runs, &s.endpoints);
    println!("{}", report::render(&summary, s.rate));
    println!(
        "total time {:.0} s, load average {}",
        started.elapsed().as_secs_f64(),
        testkit::bench::load_average()
    );
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&JsonOut {
            settings: &s,
            runs: &runs,
            summary: &summary,
        })?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        println!("JSON written to {}", path.display());
    }
    if args.keep {
        println!("server logs and databases kept in {}", workdir.display());
    } else {
        let _ = std::fs::remove_dir_all(&workdir);
    }
    drop(scratch);
    drop(sink);
    let met = summary.budgets_met();
    println!(
        "overhead gate: {}",
        if !summary.modes.contains(&budget::JUDGED) {
            "lean did not run, no budget judged"
        } else if met {
            "every lean budget met"
        } else {
            "a lean budget was exceeded (exit 99)"
        }
    );
    Ok(met)
}

fn progress(r: &Run, started: Instant) -> String {
    let mut line = format!(
        "[{:>4.0}s] round {} {:<4}",
        started.elapsed().as_secs_f64(),
        r.round + 1,
        r.mode
    );
    for e in &r.endpoints {
        line.push_str(&format!(
            " | {}: {:.2} us/req {:.0} req/s p50 {:.0} p99 {:.0} us",
            e.endpoint,
            e.saturation.cpu_us_per_request,
            e.saturation.requests_per_second,
            e.fixed_rate.p50_us,
            e.fixed_rate.p99_us
        ));
    }
    line.push_str(&format!(
        " | sent {} spans {} logs {}{}",
        r.requests_sent,
        r.received.spans,
        r.received.log_records,
        if r.killed {
            " (server KILLED after SIGTERM timeout)"
        } else {
            ""
        }
    ));
    line
}
