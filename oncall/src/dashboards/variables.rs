//! Giving a dashboard's variables values, as Grafana does when it opens one:
//! each variable's options come from its query (`label_values(metric, label)`
//! against Prometheus, a `custom` list, a constant), in dashboard order so a
//! variable may use the ones before it; the value is the caller's choice, else
//! the saved one if still an option, else All if allowed, else the first option.

use std::collections::BTreeMap;

use super::model::{Dashboard, Variable};
use super::range::TimeRange;
use super::substitute::{Scope, Selection, SubstitutionError};
use crate::prometheus::{PromError, Prometheus};

#[derive(Debug, thiserror::Error)]
pub enum VariableError {
    #[error("variable ${name}: {source}")]
    Substitution {
        name: String,
        source: SubstitutionError,
    },
    #[error("variable ${name}: {source}")]
    Prometheus { name: String, source: PromError },
    #[error("variable ${name}: unsupported query {query:?} (only label_values(...) is)")]
    Unsupported { name: String, query: String },
    #[error("--var {name}: the dashboard has no such variable (it has: {known})")]
    NotOnDashboard { name: String, known: String },
}

/// `label_values(selector, label)` or `label_values(label)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelValuesQuery {
    pub selector: Option<String>,
    pub label: String,
}

/// Parses Grafana's Prometheus variable query `label_values(...)`; `None` for
/// anything else (`query_result(...)`, `metrics(...)`, a bare list).
pub fn parse_label_values(query: &str) -> Option<LabelValuesQuery> {
    let inner = query
        .trim()
        .strip_prefix("label_values")?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')?;
    // The label is after the last comma outside braces and quotes: selectors
    // may hold commas (`{a="x", b="y"}`).
    let (mut depth, mut quoted, mut split) = (0i32, false, None);
    let mut previous = '\0';
    for (i, c) in inner.char_indices() {
        match c {
            '"' if previous != '\\' => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => split = Some(i),
            _ => {}
        }
        previous = c;
    }
    let (selector, label) = match split {
        Some(i) => (Some(inner[..i].trim().to_owned()), inner[i + 1..].trim()),
        None => (None, inner.trim()),
    };
    let valid_label = !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !label.as_bytes()[0].is_ascii_digit();
    valid_label.then(|| LabelValuesQuery {
        selector: selector.filter(|s| !s.is_empty()),
        label: label.to_owned(),
    })
}

/// Resolves a `label_values(...)` query (variables in it already substituted)
/// against Prometheus over `range`: the label's values, sorted.
pub async fn label_values(
    prometheus: &Prometheus,
    query: &LabelValuesQuery,
    range: &TimeRange,
) -> Result<Vec<String>, PromError> {
    let matchers: Vec<&str> = query.selector.iter().map(String::as_str).collect();
    let mut values = prometheus
        .label_values(&query.label, &matchers, range.from, range.to)
        .await?;
    values.sort();
    values.dedup();
    Ok(values)
}

/// The options of one variable, given the variables bound before it in `scope`.
pub async fn options(
    prometheus: &Prometheus,
    variable: &Variable,
    scope: &Scope,
) -> Result<Vec<String>, VariableError> {
    let name = || variable.name.clone();
    let split = |text: &str| -> Vec<String> {
        text.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    match variable.kind.as_str() {
        "query" => {
            // A selector may use earlier variables (`{http_route=~"$route"}`):
            // substituted by the same Prometheus rules as a panel query.
            let query = scope.interpolate(&variable.query).map_err(|source| {
                VariableError::Substitution {
                    name: name(),
                    source,
                }
            })?;
            let parsed = parse_label_values(&query).ok_or_else(|| VariableError::Unsupported {
                name: name(),
                query: variable.query.clone(),
            })?;
            label_values(prometheus, &parsed, scope.range())
                .await
                .map_err(|source| VariableError::Prometheus {
                    name: name(),
                    source,
                })
        }
        "custom" | "interval" => Ok(split(&variable.query)),
        "constant" | "textbox" | "datasource" => Ok(vec![variable.query.clone()]),
        _ => Ok(Vec::new()),
    }
}

/// A [`Scope`] for `dashboard` over `range`: every variable bound in order, to
/// `chosen[name]` when given (`Selection::All` or values), else to its default.
pub async fn bind_all(
    prometheus: &Prometheus,
    dashboard: &Dashboard,
    mut scope: Scope,
    chosen: &BTreeMap<String, Selection>,
) -> Result<Scope, VariableError> {
    if let Some(unknown) = chosen.keys().find(|n| dashboard.variable(n).is_none()) {
        return Err(VariableError::NotOnDashboard {
            name: unknown.clone(),
            known: dashboard
                .templating
                .list
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    for variable in &dashboard.templating.list {
        let options = options(prometheus, variable, &scope).await?;
        let selection = match chosen.get(&variable.name) {
            Some(selection) => selection.clone(),
            None => default_selection(variable, &options),
        };
        scope.bind(variable, selection, options);
    }
    Ok(scope)
}

/// Grafana's choice on load: the saved value while it is still an option (or the
/// options are unknown), else All when the variable has it, else the first option.
pub fn default_selection(variable: &Variable, options: &[String]) -> Selection {
    let saved = variable
        .current
        .as_ref()
        .map(|c| c.value.clone())
        .unwrap_or_default();
    if saved.iter().any(|v| v == "$__all") {
        return Selection::All;
    }
    let still_valid =
        !saved.is_empty() && (options.is_empty() || saved.iter().all(|v| options.contains(v)));
    if still_valid {
        Selection::Values(saved)
    } else if variable.include_all {
        Selection::All
    } else {
        Selection::Values(options.iter().take(1).cloned().collect())
    }
}
