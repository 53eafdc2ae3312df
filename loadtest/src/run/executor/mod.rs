//! Runs a scenario on goose. Goose provides the users (one tokio task and one HTTP client
//! each), their start and stop along a test plan, request sending and its own request
//! metrics and reports. On top of it:
//!
//! - closed model (constant-vus, ramping-vus): goose's test plan is the stages; each
//!   goose transaction is one iteration (one request of the mix), latency from the send;
//! - open model (constant-arrival-rate, ramping-arrival-rate): goose starts all
//!   `preAllocatedVUs` users at once and each iteration first takes the next due time from
//!   the shared [`schedule::Schedule`] and sleeps until then on the [`timer::Timer`]
//!   (microseconds late, not tokio's millisecond); latency is measured from the due time, so an iteration that waited for a free user (the server was slow) carries
//!   that wait. When the last scheduled iteration ends, goose's killswitch ends the run.

pub mod schedule;
pub mod timer;
pub mod transaction;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::prelude::{GooseAttack, Scenario as GooseScenario, Transaction, TransactionFunction};

use crate::run::mix::Mix;
use crate::run::recorder::Recorder;
use crate::run::request_log::RequestLog;
use crate::run::scenario::{Executor, Scenario};
use schedule::Schedule;
use timer::Timer;

/// Everything the users share.
pub struct Context {
    pub mix: Mix,
    pub user_ids: Vec<String>,
    pub schedule: Option<Schedule>,
    /// Waits for the schedule's due times (idle in the closed model).
    pub timer: Timer,
    pub recorder: Recorder,
    /// `--requests-out`: every request's line.
    pub request_log: Option<RequestLog>,
    /// Prefix of every x-request-id of this run.
    pub run_id: String,
    pub next_request: AtomicU64,
    pub seed: u64,
}

/// What goose itself counted, to cross-check ours.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct GooseCounts {
    pub requests: u64,
    pub failed: u64,
}

pub struct Options {
    pub target: String,
    /// Goose's own report files (.html, .json, .md), if asked for.
    pub goose_reports: Vec<String>,
}

/// Goose's test plan: `users,seconds;...` from 0 users. Goose takes whole seconds.
fn test_plan(exec: &Executor, graceful_stop: Duration) -> String {
    let secs = |d: Duration| d.as_secs_f64().round().max(0.0) as u64;
    let mut steps = Vec::new();
    match exec {
        Executor::ArrivalRate { vus, .. } => {
            // All users at once; they idle until their first due time. Hold until the
            // schedule and its grace period are over (the killswitch usually ends it first).
            steps.push(format!("{vus},0"));
            let hold = exec.duration() + graceful_stop + Duration::from_secs(1);
            steps.push(format!("{vus},{}", secs(hold).max(1)));
        }
        Executor::Vus { start_vus, stages } => {
            if *start_vus > 0 {
                steps.push(format!("{start_vus},0"));
            }
            for s in stages {
                steps.push(format!(
                    "{},{}",
                    s.target.round() as u64,
                    secs(s.duration).max(1)
                ));
            }
        }
    }
    steps.push("0,0".into());
    steps.join(";")
}

fn configuration(opts: &Options, timeout: Duration) -> GooseConfiguration {
    let mut c = GooseConfiguration::default();
    c.host = Some(opts.target.clone());
    c.no_print_metrics = true;
    c.no_error_summary = true;
    c.no_telnet = true;
    c.no_gzip = true;
    c.quiet = 1;
    c.timeout = Some(format!("{}", timeout.as_secs_f64().max(0.001)));
    c.report_file = opts.goose_reports.clone();
    c
}

pub async fn run(
    scenario: &Scenario,
    ctx: Arc<Context>,
    opts: &Options,
) -> anyhow::Result<GooseCounts> {
    let function: TransactionFunction = {
        let ctx = Arc::clone(&ctx);
        Arc::new(move |user| {
            let ctx = Arc::clone(&ctx);
            Box::pin(async move { transaction::iteration(&ctx, user).await })
        })
    };
    let goose_scenario = GooseScenario::new(&scenario.name)
        .register_transaction(Transaction::new(function).set_name("iteration"));
    let plan = test_plan(&scenario.executor, scenario.graceful_stop);
    // Goose's Display of its errors leaves out the detail; Debug has it.
    let goose_error = |e: goose::GooseError| anyhow::anyhow!("goose: {e:?}");
    let metrics = GooseAttack::initialize_with_config(configuration(opts, scenario.timeout))
        .map_err(goose_error)?
        .register_scenario(goose_scenario)
        .set_default(GooseDefault::TestPlan, plan.as_str())
        .map_err(goose_error)?
        .execute()
        .await
        .map_err(goose_error)?;
    let mut counts = GooseCounts::default();
    for r in metrics.requests.values() {
        counts.requests += (r.success_count + r.fail_count) as u64;
        counts.failed += r.fail_count as u64;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::scenario::Stage;

    #[test]
    fn test_plans() {
        let stage = |s, t| Stage {
            duration: Duration::from_secs(s),
            target: t,
        };
        let open = Executor::ArrivalRate {
            start_rate: 5.0,
            stages: vec![stage(10, 5.0)],
            vus: 8,
        };
        assert_eq!(test_plan(&open, Duration::from_secs(2)), "8,0;8,13;0,0");
        let closed = Executor::Vus {
            start_vus: 0,
            stages: vec![stage(5, 10.0), stage(20, 10.0), stage(5, 0.0)],
        };
        assert_eq!(
            test_plan(&closed, Duration::from_secs(2)),
            "10,5;10,20;0,5;0,0"
        );
    }
}
