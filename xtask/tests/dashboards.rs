//! The provisioned Grafana dashboards checked as data (Grafana cannot run here):
//! contract uids, a title and a unit on every panel, datasources that resolve to
//! the provisioned ones, every query and link free of unknown variables and
//! well formed once substituted. `tests/dashboards_live.rs` runs the queries on
//! the real stack. Both load the dashboards through `oncall::dashboards`, the
//! model `oncall snapshot` renders from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use oncall::dashboards::{
    self, Dashboard, DatasourceKind, Intervals, Scope, Selection, TimeRange, MAX_DATA_POINTS,
    SCRAPE_INTERVAL,
};

const CONTRACT_UIDS: [&str; 4] = [
    "alertingscout-api",
    "alertingscout-resources",
    "alertingscout-pipeline",
    "alertingscout-slo",
];
/// Panel kinds that show numbers and so need a unit.
const NUMERIC: [&str; 5] = ["stat", "timeseries", "table", "gauge", "bargauge"];

fn root() -> PathBuf {
    xtask::layout::Layout::discover().root
}

fn load() -> Vec<Dashboard> {
    dashboards::load_dir(&root().join("grafana/dashboards")).expect("dashboards load")
}

/// uid -> type of every provisioned datasource.
fn datasources() -> BTreeMap<String, String> {
    let dir = root().join("grafana/provisioning/datasources");
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("datasources folder") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
        for ds in yaml["datasources"].as_sequence().into_iter().flatten() {
            let uid = ds["uid"].as_str().expect("every datasource has a uid");
            let kind = ds["type"].as_str().expect("every datasource has a type");
            found.insert(uid.to_owned(), kind.to_owned());
        }
    }
    found
}

/// A scope with every variable bound to one plausible value, as an alert link
/// would open the dashboard (no Prometheus needed).
fn offline_scope(dashboard: &Dashboard) -> Scope {
    let range = TimeRange::last(Duration::from_secs(3600), chrono::Utc::now());
    let mut scope = Scope::new(
        range,
        Intervals::for_range(&range, MAX_DATA_POINTS, SCRAPE_INTERVAL),
    );
    for variable in &dashboard.templating.list {
        let value = match variable.name.as_str() {
            "route" => "/projects/{id}",
            "method" => "GET",
            _ => "value",
        };
        scope.bind(
            variable,
            Selection::Values(vec![value.to_owned()]),
            vec![value.to_owned()],
        );
    }
    scope
}

#[test]
fn the_contract_dashboards_exist_once_each_and_the_api_one_has_its_variables() {
    let all = load();
    let uids: Vec<&str> = all.iter().map(|d| d.uid.as_str()).collect();
    let unique: BTreeSet<&str> = uids.iter().copied().collect();
    assert_eq!(unique.len(), uids.len(), "duplicate uids: {uids:?}");
    for uid in CONTRACT_UIDS {
        assert!(unique.contains(uid), "{uid} missing: {uids:?}");
    }
    let api = all
        .iter()
        .find(|d| d.uid == "alertingscout-api")
        .expect("api");
    for name in ["route", "method", "instance"] {
        assert!(api.variable(name).is_some(), "the API dashboard's ${name}");
    }
    for d in &all {
        assert!(!d.title.trim().is_empty(), "{}: no title", d.uid);
    }
}

#[test]
fn every_panel_has_a_unique_id_a_title_and_a_unit_and_queries() {
    let mut problems = Vec::new();
    for d in load() {
        let mut ids = BTreeSet::new();
        for p in d.panels_flat() {
            if !ids.insert(p.id) {
                problems.push(format!("{}: panel id {} twice", d.uid, p.id));
            }
            if p.title.trim().is_empty() {
                problems.push(format!("{}: panel {} has no title", d.uid, p.id));
            }
            if NUMERIC.contains(&p.kind.as_str()) && p.unit().is_none_or(|u| u.trim().is_empty()) {
                problems.push(format!("{} / {}: no unit", d.uid, p.title));
            }
            if p.visible_targets().next().is_none() {
                problems.push(format!("{} / {}: no query", d.uid, p.title));
            }
            for t in p.visible_targets() {
                let kind = p.target_datasource(t).kind();
                let text = match kind {
                    DatasourceKind::Prometheus => t.expr.as_str(),
                    _ => t.query.as_deref().unwrap_or_default(),
                };
                if kind == DatasourceKind::Prometheus && t.ref_id.is_empty() {
                    problems.push(format!("{} / {}: a query without refId", d.uid, p.title));
                }
                if kind == DatasourceKind::Prometheus && text.trim().is_empty() {
                    problems.push(format!("{} / {} {}: empty query", d.uid, p.title, t.ref_id));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_datasource_is_a_provisioned_one_of_the_right_type() {
    let provisioned = datasources();
    for uid in ["prometheus", "elasticsearch-logs", "elasticsearch-traces"] {
        assert!(provisioned.contains_key(uid), "{uid} is not provisioned");
    }
    let mut problems = Vec::new();
    let mut check = |what: String, ds: &dashboards::DatasourceRef| match ds.uid.as_deref() {
        Some(uid) => match provisioned.get(uid) {
            Some(kind) if ds.kind.as_deref().is_none_or(|k| k == kind) => {}
            Some(kind) => problems.push(format!("{what}: {uid} is a {kind}, not {:?}", ds.kind)),
            None => problems.push(format!("{what}: datasource uid {uid} is not provisioned")),
        },
        None => problems.push(format!("{what}: a datasource without uid")),
    };
    for d in load() {
        for p in d.panels_flat() {
            if let Some(ds) = &p.datasource {
                check(format!("{} / {}", d.uid, p.title), ds);
            }
            for t in p.visible_targets() {
                check(
                    format!("{} / {} {}", d.uid, p.title, t.ref_id),
                    &p.target_datasource(t),
                );
            }
        }
        for a in &d.annotations.list {
            if let Some(ds) = &a.datasource {
                check(format!("{} annotation {}", d.uid, a.name), ds);
            }
        }
        for v in &d.templating.list {
            if let Some(ds) = &v.datasource {
                check(format!("{} variable {}", d.uid, v.name), ds);
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_query_link_and_annotation_substitutes_with_known_variables_only() {
    let mut problems = Vec::new();
    let base = url_base();
    for d in load() {
        let scope = offline_scope(&d);
        for p in d.panels_flat() {
            for t in p.visible_targets() {
                let (text, format) = match p.target_datasource(t).kind() {
                    DatasourceKind::Prometheus => (t.expr.as_str(), None),
                    _ => (
                        t.query.as_deref().unwrap_or_default(),
                        Some(dashboards::Format::Lucene),
                    ),
                };
                let done = match format {
                    None => scope.interpolate(text),
                    Some(f) => scope.interpolate_as(text, f),
                };
                match done {
                    Ok(q) if leftover_variable(&q) => {
                        problems.push(format!("{} / {}: unsubstituted in {q}", d.uid, p.title))
                    }
                    Ok(_) => {}
                    Err(e) => problems.push(format!("{} / {} {}: {e}", d.uid, p.title, t.ref_id)),
                }
            }
            let row = BTreeMap::from([
                ("http_route".to_owned(), "/projects/{id}".to_owned()),
                ("Route".to_owned(), "/projects/{id}".to_owned()),
            ]);
            let link_scope = scope.with_row(row);
            for link in p.all_links() {
                if link.title.trim().is_empty() {
                    problems.push(format!("{} / {}: a link without title", d.uid, p.title));
                }
                match link_scope.interpolate_as(&link.url, dashboards::Format::Raw) {
                    Ok(u) => match base.join(&u) {
                        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
                        Ok(parsed) => problems.push(format!("{} / {}: {parsed}", d.uid, p.title)),
                        Err(e) => problems.push(format!("{} / {}: {u}: {e}", d.uid, p.title)),
                    },
                    Err(e) => {
                        problems.push(format!("{} / {} link {}: {e}", d.uid, p.title, link.title))
                    }
                }
            }
        }
        for a in &d.annotations.list {
            if let Err(e) = scope.interpolate(&a.expr) {
                problems.push(format!("{} annotation {}: {e}", d.uid, a.name));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_variable_is_a_label_values_query() {
    for d in load() {
        for v in &d.templating.list {
            if v.kind == "query" {
                assert!(
                    dashboards::parse_label_values(&v.query).is_some(),
                    "{} ${}: {:?} is not label_values(metric, label)",
                    d.uid,
                    v.name,
                    v.query
                );
            }
        }
    }
}

#[test]
fn a_leftover_variable_is_caught() {
    // The check above must be able to fail.
    assert!(leftover_variable("rate(x{route=~\"$route\"}[5m])"));
    assert!(leftover_variable("${__from:date:iso}"));
    assert!(!leftover_variable(
        "label_replace(x, \"a\", \"$1\", \"b\", \"(.*)\")"
    ));
}

/// Relative links (`/d/...`, `/explore?...`) resolve against Grafana's address.
fn url_base() -> url::Url {
    url::Url::parse("http://127.0.0.1:3000/").expect("base")
}

/// A `$name` or `${...}` still in a substituted text (`$1` back-references aside).
fn leftover_variable(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .windows(2)
        .any(|w| w[0] == b'$' && (w[1] == b'{' || w[1].is_ascii_alphabetic() || w[1] == b'_'))
}
