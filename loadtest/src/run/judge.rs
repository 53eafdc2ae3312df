//! Step 4 of `loadtest run`: the service's counts after the run against ours (fidelity),
//! every threshold against the measurements, and the report that says so.

use std::collections::BTreeMap;

use crate::run::baseline::Baseline;
use crate::run::execute::Execution;
use crate::run::fidelity;
use crate::run::plan::Plan;
use crate::run::report::{Header, RunReport};

pub fn judge(plan: &Plan, baseline: &Baseline, execution: Execution) -> anyhow::Result<RunReport> {
    let Execution {
        mut recorded,
        goose,
    } = execution;
    let metrics = &mut recorded.metrics;
    let fidelity = match (&plan.fidelity, &baseline.counts) {
        (Some(source), Some(before)) => {
            let ours: BTreeMap<String, u64> = metrics
                .routes
                .iter()
                .map(|(k, r)| (k.clone(), r.answered))
                .collect();
            let report = fidelity::compare(source, before, &ours, plan.fidelity_wait(source))?;
            metrics.fidelity_mismatches = Some(report.mismatches);
            Some(report)
        }
        _ => None,
    };
    let verdicts = plan
        .scenario
        .thresholds
        .iter()
        .map(|t| t.evaluate(metrics))
        .collect();
    Ok(RunReport::build(
        Header {
            scenario: plan.scenario.name.clone(),
            executor: plan.scenario.executor_type.clone(),
            target: plan.target.clone(),
            vus: plan.vus(),
        },
        recorded,
        verdicts,
        fidelity,
        goose,
    ))
}
