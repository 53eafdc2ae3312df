//! `oncall snapshot`: every panel of a provisioned dashboard, rendered from the
//! live Prometheus into one self-contained HTML file, for anyone without
//! Grafana and for incident reports.
//!
//! Order of work: load the dashboard ([`crate::dashboards`]), check Prometheus
//! answers, bind the variables, run each panel's queries (`fetch`), turn the
//! results into views (`panel`: charts by `chart`, tables by `table`), and
//! write the page (`html`). A panel whose query fails or returns nothing
//! shows that message; the snapshot still renders.

mod alerts;
pub mod chart;
mod fetch;
mod html;
mod legend;
mod panel;
mod since;
mod table;
mod units;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use futures_util::StreamExt;

use crate::cli::SnapshotSettings;
use crate::dashboards::{self, Intervals, Scope, Selection, TimeRange};
use crate::prometheus::Prometheus;

pub use html::escape;
pub use panel::Status;
pub use since::parse_since;
pub use units::format_value;

/// Each Prometheus request's bound; a dashboard's queries over a day of data
/// finish well within it on our stack.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Panels queried at once: enough to overlap round trips, few enough not to
/// load a Prometheus that is also scraping.
const CONCURRENT_PANELS: usize = 4;

pub fn run(settings: SnapshotSettings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (html, counts) = runtime.block_on(render(&settings))?;
    std::fs::write(&settings.out, html)
        .with_context(|| format!("writing {}", settings.out.display()))?;
    eprintln!(
        "oncall snapshot: wrote {} ({counts})",
        settings.out.display()
    );
    Ok(())
}

/// The page and a one-line count of panel statuses.
pub async fn render(settings: &SnapshotSettings) -> anyhow::Result<(String, String)> {
    let dashboard = dashboards::find(&settings.dashboards, &settings.dashboard)?;
    let prometheus = Prometheus::new(settings.prometheus.clone(), QUERY_TIMEOUT)?;
    // Fail early and plainly when there is no Prometheus: a page of panels that
    // all say "connection refused" helps nobody.
    let version = prometheus.version().await?;

    let generated = Utc::now();
    let range = TimeRange::last(settings.since.duration, generated);
    let intervals = Intervals::for_range(
        &range,
        dashboards::MAX_DATA_POINTS,
        dashboards::SCRAPE_INTERVAL,
    );
    let chosen = chosen_values(&settings.vars);
    let scope = dashboards::bind_all(
        &prometheus,
        &dashboard,
        Scope::new(range, intervals),
        &chosen,
    )
    .await?;

    let base = panel::LinkBase {
        grafana: &settings.grafana_url,
    };
    let sections = dashboard.sections();
    let all: Vec<&dashboards::Panel> = sections.iter().flat_map(|s| s.panels.clone()).collect();
    let mut views: Vec<panel::View> = futures_util::stream::iter(all)
        .map(|p| {
            let (prometheus, scope, base) = (&prometheus, &scope, &base);
            async move { panel::view(p, fetch::fetch(prometheus, scope, p).await, scope, base) }
        })
        .buffered(CONCURRENT_PANELS)
        .collect()
        .await;

    let counts = count(&views);
    let mut rows = Vec::new();
    for section in &sections {
        let rest = views.split_off(section.panels.len().min(views.len()));
        rows.push(html::Row {
            title: section.title.map(str::to_owned),
            panels: std::mem::replace(&mut views, rest),
        });
    }
    let header = html::Header {
        title: dashboard.title.clone(),
        uid: dashboard.uid.clone(),
        range,
        since: settings.since.text.clone(),
        generated,
        prometheus: settings.prometheus.to_string(),
        prometheus_version: format!("Prometheus {version}"),
        variables: scope
            .bindings()
            .iter()
            .map(|b| {
                let shown = match &b.selection {
                    Selection::All => format!("All ({} values)", b.options.len()),
                    Selection::Values(v) => v.join(", "),
                };
                (b.name.clone(), shown)
            })
            .collect(),
        alerts: alerts::firing(&prometheus, &dashboard, &scope).await,
    };
    Ok((html::page(&header, &rows), counts))
}

/// `--var route=/a --var route=/b --var method=All` -> route: [/a, /b], method: All.
fn chosen_values(vars: &[(String, String)]) -> BTreeMap<String, Selection> {
    let mut chosen: BTreeMap<String, Selection> = BTreeMap::new();
    for (name, value) in vars {
        if value == "All" || value == "$__all" {
            chosen.insert(name.clone(), Selection::All);
            continue;
        }
        match chosen
            .entry(name.clone())
            .or_insert(Selection::Values(Vec::new()))
        {
            Selection::Values(values) => values.push(value.clone()),
            Selection::All => {}
        }
    }
    chosen
}

fn count(views: &[panel::View]) -> String {
    let n = |s: Status| views.iter().filter(|v| v.status == s).count();
    format!(
        "{} panels: {} ok, {} no data, {} errors, {} not rendered",
        views.len(),
        n(Status::Ok),
        n(Status::NoData),
        n(Status::Error),
        n(Status::NotRendered)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_vars_are_multi_values_and_all_is_all() {
        let vars = [
            ("route".to_owned(), "/a".to_owned()),
            ("route".to_owned(), "/b".to_owned()),
            ("method".to_owned(), "All".to_owned()),
        ];
        let chosen = chosen_values(&vars);
        assert_eq!(
            chosen["route"],
            Selection::Values(vec!["/a".to_owned(), "/b".to_owned()])
        );
        assert_eq!(chosen["method"], Selection::All);
    }
}
