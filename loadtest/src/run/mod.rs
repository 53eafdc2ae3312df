//! `loadtest run SCENARIO`: a k6-style scenario on goose against a running service.
//!
//! [`main`] is five steps with a value between each: [`plan`] (flags and scenario file
//! -> [`plan::Plan`]), [`baseline`] (the service's counts before -> [`baseline::Baseline`]),
//! [`execute`] (the scenario on goose -> [`execute::Execution`]), [`judge`] (fidelity and
//! thresholds -> [`report::RunReport`]) and [`write`] (summary, JSON, HTML). The rest is
//! what the steps use: the scenario format ([`scenario`], [`threshold`], [`units`]), the
//! requests ([`mix`], [`checks`]), the engine ([`executor`]), the measurements
//! ([`recorder`], [`metrics`]), [`fidelity`], [`progress`] and [`report`].

pub mod args;
pub mod baseline;
pub mod checks;
pub mod execute;
pub mod executor;
pub mod fidelity;
pub mod judge;
pub mod metrics;
pub mod mix;
pub mod plan;
pub mod progress;
pub mod recorder;
pub mod report;
pub mod request_log;
pub mod scenario;
pub mod threshold;
pub mod units;
pub mod write;

pub use args::RunArgs;

/// Runs the scenario; Ok(true) when every threshold passed.
pub fn main(args: RunArgs) -> anyhow::Result<bool> {
    let plan = plan::Plan::new(args)?;
    let baseline = baseline::take(&plan)?;
    let execution = execute::execute(&plan)?;
    let report = judge::judge(&plan, &baseline, execution)?;
    write::write(&plan, &report)?;
    Ok(report.passed)
}
