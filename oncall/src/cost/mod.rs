//! `oncall cost`: what the pipeline stores per request, measured on the live
//! stack, and what that comes to per day at 10, 100 and 1,000 requests per
//! second (docs/cost.md).
//!
//! `model` is the pure calculation (per-request figures, forecast, levers),
//! `gather` talks to Elasticsearch and Prometheus, `render` prints.

pub mod gather;
pub mod model;
pub mod render;

use std::time::Duration;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};

use crate::cli::CostSettings;
use crate::prometheus::Prometheus;

/// The window: `--from`/`--to`, or `--since` (default 1h) back from `now`.
pub fn window(
    s: &CostSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<(DateTime<Utc>, DateTime<Utc>)> {
    let (from, to) = match (s.from, s.to) {
        (Some(from), Some(to)) => (from, to),
        (None, None) => {
            let since = s
                .since
                .as_ref()
                .map(|s| s.duration)
                .unwrap_or(Duration::from_secs(3600));
            let back = chrono::Duration::from_std(since).context("--since is too long")?;
            (now - back, now)
        }
        _ => bail!("--from and --to go together"),
    };
    if from >= to {
        bail!("--from ({from}) must be before --to ({to})");
    }
    Ok((from, to))
}

pub fn run(s: CostSettings) -> anyhow::Result<()> {
    let (from, to) = window(&s, Utc::now())?;
    let timeout = s.timeout;
    let es = s.elasticsearch.client(timeout)?;
    let prometheus = if s.no_prometheus {
        None
    } else {
        Some(Prometheus::new(s.prometheus_url.clone(), timeout)?)
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let measured = runtime.block_on(gather::measure(
        &gather::Sources {
            es: &es,
            prometheus: prometheus.as_ref(),
            logs_index: &s.logs_index,
            traces_index: &s.traces_index,
        },
        from,
        to,
    ))?;
    let report = model::report(&measured);
    let text = match s.format {
        render::Format::Table => render::table(&report),
        render::Format::Json => render::json(&report)?,
    };
    print!("{text}");
    Ok(())
}
