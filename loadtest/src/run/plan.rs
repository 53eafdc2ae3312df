//! Step 1 of `loadtest run`: everything decided before anything is sent. The flags and
//! the scenario file become one [`Plan`]; every mistake in them is reported here, before
//! the service is touched.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use crate::run::args::RunArgs;
use crate::run::fidelity::Source;
use crate::run::scenario::{Executor, Scenario};
use crate::run::threshold::{MetricName, Threshold};

pub struct Plan {
    /// The scenario file with the `--threshold` flags and, when fidelity is checked, the
    /// implicit `fidelity_mismatches: count == 0` added to its thresholds.
    pub scenario: Scenario,
    /// Base URL without a trailing '/'.
    pub target: String,
    /// Where the service's own counts are read; None when fidelity is not checked.
    pub fidelity: Option<Source>,
    fidelity_wait: Option<f64>,
    pub json_outputs: Vec<PathBuf>,
    pub html: Option<PathBuf>,
    pub goose_reports: Vec<String>,
    pub requests_out: Option<PathBuf>,
    pub quiet: bool,
}

impl Plan {
    pub fn new(args: RunArgs) -> anyhow::Result<Plan> {
        let mut scenario = Scenario::load(&args.scenario)?;
        for t in &args.thresholds {
            scenario.thresholds.push(extra_threshold(t)?);
        }
        let json_outputs = json_outputs(&args.out)?;
        let target = args.target.trim_end_matches('/').to_owned();
        let fidelity = (!args.no_fidelity && scenario.fidelity).then(|| match &args.prometheus {
            Some(p) => Source::Prometheus(p.clone()),
            None => Source::Metrics(
                args.metrics_url
                    .clone()
                    .unwrap_or_else(|| format!("{target}/metrics")),
            ),
        });
        if fidelity.is_some()
            && !scenario
                .thresholds
                .iter()
                .any(|t| t.metric == MetricName::FidelityMismatches)
        {
            scenario.thresholds.push(
                Threshold::parse("fidelity_mismatches", "count == 0")
                    .map_err(anyhow::Error::msg)?,
            );
        }
        Ok(Plan {
            scenario,
            target,
            fidelity,
            fidelity_wait: args.fidelity_wait,
            json_outputs,
            html: args.html,
            goose_reports: args.goose_report,
            requests_out: args.requests_out,
            quiet: args.quiet,
        })
    }

    /// How long to wait for `source`'s counts to catch up: Prometheus must scrape first.
    pub fn fidelity_wait(&self, source: &Source) -> Duration {
        Duration::from_secs_f64(
            self.fidelity_wait
                .unwrap_or(match source {
                    Source::Prometheus(_) => 60.0,
                    Source::Metrics(_) => 5.0,
                })
                .max(0.0),
        )
    }

    /// The executor's users, as the summary shows them: "5 VUs" or "up to 50 VUs".
    pub fn vus(&self) -> String {
        match &self.scenario.executor {
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
