//! Running a panel's Prometheus queries over the snapshot's range, the way
//! Grafana would for that panel type: range queries for charts and stats,
//! instant queries where a target asks for them (tables).

use crate::dashboards::{Panel, Scope, Target};
use crate::prometheus::{Prometheus, Series};

/// What one target gave: its series, or why not (Prometheus's or the
/// substitution's message, which names the query).
#[derive(Debug, Clone)]
pub struct TargetResult {
    pub ref_id: String,
    pub legend_format: Option<String>,
    /// The query as sent (variables substituted), or as written when substitution failed.
    pub query: String,
    pub outcome: Result<Vec<Series>, String>,
}

/// Grafana runs an instant query only when a target asks for one alone.
pub fn is_instant(target: &Target) -> bool {
    target.instant == Some(true) && target.range != Some(true)
}

/// Every visible Prometheus target of `panel`, in order; other datasources' are skipped.
pub async fn fetch(prometheus: &Prometheus, scope: &Scope, panel: &Panel) -> Vec<TargetResult> {
    let mut results = Vec::new();
    for target in panel.visible_targets() {
        if !panel.target_datasource(target).is_prometheus() {
            continue;
        }
        let result = |query: String, outcome| TargetResult {
            ref_id: target.ref_id.clone(),
            legend_format: target.legend_format.clone(),
            query,
            outcome,
        };
        let query = match scope.interpolate(&target.expr) {
            Ok(query) => query,
            Err(e) => {
                results.push(result(
                    target.expr.clone(),
                    Err(format!("query {}: {e}", target.ref_id)),
                ));
                continue;
            }
        };
        let range = scope.range();
        let answer = if is_instant(target) {
            prometheus.query(&query, range.to).await
        } else {
            prometheus
                .query_range(&query, range.from, range.to, scope.intervals().interval)
                .await
        };
        let outcome = answer
            .map(|data| data.into_series())
            .map_err(|e| e.to_string());
        results.push(result(query, outcome));
    }
    results
}
