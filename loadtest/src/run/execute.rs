//! Step 3 of `loadtest run`: the scenario on goose, with the live progress line, and what
//! it measured.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use crate::run::executor::timer::Timer;
use crate::run::executor::{self, schedule, Context, GooseCounts};
use crate::run::mix::Mix;
use crate::run::plan::Plan;
use crate::run::progress;
use crate::run::recorder::{Recorded, Recorder};
use crate::run::request_log::RequestLog;
use crate::run::scenario::Executor;

pub struct Execution {
    /// Our own measurements; for the open model with its dropped and late iterations.
    pub recorded: Recorded,
    /// What goose itself counted.
    pub goose: GooseCounts,
}

/// A prefix that makes this run's x-request-ids unique across runs and processes.
fn run_id() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("lt{t:x}{:x}", std::process::id())
}

pub fn execute(plan: &Plan) -> anyhow::Result<Execution> {
    let scenario = &plan.scenario;
    let schedule = match &scenario.executor {
        Executor::ArrivalRate {
            start_rate, stages, ..
        } => Some(schedule::Schedule::new(schedule::offsets(
            *start_rate,
            stages,
        ))),
        Executor::Vus { .. } => None,
    };
    let timer = Timer::start().context("starting the timer thread")?;
    let ctx = Arc::new(Context {
        mix: Mix::new(&scenario.mix)?,
        user_ids: scenario.user_ids.clone(),
        schedule,
        timer,
        recorder: Recorder::new(),
        request_log: plan
            .requests_out
            .as_deref()
            .map(RequestLog::create)
            .transpose()?,
        run_id: run_id(),
        next_request: AtomicU64::new(0),
        seed: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    });
    eprintln!(
        "loadtest: {} ({}, {}, {:.0} s + gracefulStop {:.0} s) against {}; x-request-id prefix {}",
        scenario.name,
        scenario.executor_type,
        plan.vus(),
        scenario.executor.duration().as_secs_f64(),
        scenario.graceful_stop.as_secs_f64(),
        plan.target,
        ctx.run_id
    );
    let stop = AtomicBool::new(false);
    let goose = std::thread::scope(|s| {
        if !plan.quiet {
            let ctx = &ctx;
            let stop = &stop;
            s.spawn(move || progress::show(&ctx.recorder, stop));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the runtime");
        let result = rt.and_then(|rt| {
            rt.block_on(executor::run(
                scenario,
                Arc::clone(&ctx),
                &executor::Options {
                    target: plan.target.clone(),
                    goose_reports: plan.goose_reports.clone(),
                },
            ))
        });
        stop.store(true, Ordering::Relaxed);
        result
    })?;

    let mut recorded = ctx.recorder.snapshot();
    if let Some(s) = &ctx.schedule {
        recorded.metrics.dropped_iterations = s.dropped();
        recorded.metrics.late_iterations = s.late();
    }
    Ok(Execution { recorded, goose })
}
