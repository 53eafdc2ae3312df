//! The dashboard's alert annotations (Prometheus `ALERTS{alertstate="firing"}`
//! queries) as lines for the page header: which alert fired, and when.

use chrono::DateTime;

use super::legend::series_name;
use crate::dashboards::{Dashboard, Scope};
use crate::prometheus::Prometheus;

pub async fn firing(prometheus: &Prometheus, dashboard: &Dashboard, scope: &Scope) -> Vec<String> {
    let mut lines = Vec::new();
    let range = scope.range();
    for annotation in &dashboard.annotations.list {
        let is_prometheus = annotation
            .datasource
            .as_ref()
            .is_some_and(|d| d.is_prometheus());
        if !annotation.enable || annotation.expr.is_empty() || !is_prometheus {
            continue;
        }
        let answer = match scope.interpolate(&annotation.expr) {
            Ok(expr) => prometheus
                .query_range(&expr, range.from, range.to, scope.intervals().interval)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match answer {
            Ok(data) => {
                for series in data.into_series() {
                    let (Some(first), Some(last)) = (series.samples.first(), series.samples.last())
                    else {
                        continue;
                    };
                    let name = series_name(
                        annotation.title_format.as_deref(),
                        &series.labels,
                        &annotation.name,
                    );
                    let detail: Vec<String> = ["severity", "http_route"]
                        .iter()
                        .filter_map(|k| series.labels.get(*k).map(|v| format!("{k}={v}")))
                        .collect();
                    lines.push(format!(
                        "{name} ({}) {} → {}",
                        detail.join(", "),
                        clock(first.t),
                        clock(last.t)
                    ));
                }
            }
            Err(e) => lines.push(format!("annotation {:?}: {e}", annotation.name)),
        }
    }
    lines
}

fn clock(seconds: f64) -> String {
    DateTime::from_timestamp_millis((seconds * 1000.0) as i64)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_default()
}
