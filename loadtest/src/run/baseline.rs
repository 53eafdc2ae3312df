//! Step 2 of `loadtest run`: the service's own counts before the first request (what
//! fidelity compares against), or, when fidelity is not checked, proof that it answers.

use std::collections::BTreeMap;

use anyhow::Context as _;

use crate::run::fidelity;
use crate::run::plan::Plan;

pub struct Baseline {
    /// Requests per route the service had counted; None when fidelity is not checked.
    pub counts: Option<BTreeMap<String, u64>>,
}

pub fn take(plan: &Plan) -> anyhow::Result<Baseline> {
    let target = &plan.target;
    let counts = match &plan.fidelity {
        Some(source) => Some(
            fidelity::baseline(source, target, plan.fidelity_wait(source)).with_context(|| {
                format!(
                    "reading the service's counts from {} (serve them with ALERTINGSCOUT_PROMETHEUS_METRICS=on, or pass --no-fidelity)",
                    source.describe()
                )
            })?,
        ),
        None => {
            fidelity::get(&format!("{target}/health"))
                .with_context(|| format!("the target {target} does not answer GET /health"))?;
            None
        }
    };
    Ok(Baseline { counts })
}
