//! Step 5 of `loadtest run`: the summary on stdout, then the files asked for.

use anyhow::Context as _;

use crate::run::plan::Plan;
use crate::run::report::{html, summary, RunReport};

pub fn write(plan: &Plan, report: &RunReport) -> anyhow::Result<()> {
    println!("{}", summary::render(report));
    for path in &plan.json_outputs {
        std::fs::write(path, serde_json::to_string_pretty(report)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("JSON report written to {}", path.display());
    }
    if let Some(path) = &plan.html {
        std::fs::write(path, html::render(report))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("HTML report written to {}", path.display());
    }
    Ok(())
}
