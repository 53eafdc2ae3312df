//! The Kibana saved objects compose.yml imports (elastic/kibana/saved-objects.ndjson),
//! checked without Kibana: every line a saved object, ids unique, every reference
//! resolves inside the file, and the data view ids other code links to exist.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use xtask::layout::Layout;

fn root() -> std::path::PathBuf {
    Layout::discover().root
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (type, id) -> object, in file order.
fn objects() -> Vec<Value> {
    read("elastic/kibana/saved-objects.ndjson")
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("saved-objects.ndjson line {}: {e}", n + 1))
        })
        .collect()
}

fn by_id(objects: &[Value]) -> BTreeMap<String, &Value> {
    objects
        .iter()
        .map(|o| (o["id"].as_str().unwrap_or_default().to_string(), o))
        .collect()
}

#[test]
fn every_line_is_a_saved_object_with_a_unique_id() {
    let objects = objects();
    assert!(!objects.is_empty());
    let mut ids = BTreeSet::new();
    for o in &objects {
        let id = o["id"].as_str().filter(|s| !s.is_empty());
        let kind = o["type"].as_str().filter(|s| !s.is_empty());
        let (Some(id), Some(kind)) = (id, kind) else {
            panic!("an object without id or type: {o}");
        };
        assert!(ids.insert(id.to_string()), "id {id} twice");
        assert!(o["attributes"].is_object(), "{kind} {id}: no attributes");
        assert!(
            o["attributes"]["title"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{kind} {id}: no title"
        );
    }
}

#[test]
fn every_reference_resolves_in_the_file() {
    let objects = objects();
    let ids = by_id(&objects);
    for o in &objects {
        let refs = o["references"].as_array().cloned().unwrap_or_default();
        for r in refs {
            let id = r["id"].as_str().unwrap_or_default();
            let target = ids
                .get(id)
                .unwrap_or_else(|| panic!("{}: reference to missing {id}", o["id"]));
            assert_eq!(target["type"], r["type"], "{}: reference {r}", o["id"]);
        }
    }
}

#[test]
fn the_data_views_cover_the_indices_the_collector_writes() {
    let objects = objects();
    let ids = by_id(&objects);
    for (id, title) in [
        ("alertingscout-logs", "logs-alertingscout-*"),
        ("alertingscout-traces", "traces-alertingscout-*"),
        (
            "alertingscout-logs-and-traces",
            "logs-alertingscout-*,traces-alertingscout-*",
        ),
    ] {
        let view = ids.get(id).unwrap_or_else(|| panic!("no data view {id}"));
        assert_eq!(view["type"], "index-pattern", "{id}");
        assert_eq!(view["attributes"]["title"], title, "{id}");
        assert_eq!(view["attributes"]["timeFieldName"], "@timestamp", "{id}");
    }
}

#[test]
fn saved_searches_name_their_data_view_through_a_reference() {
    let objects = objects();
    let searches: Vec<&Value> = objects.iter().filter(|o| o["type"] == "search").collect();
    let titles: BTreeSet<&str> = searches
        .iter()
        .filter_map(|s| s["attributes"]["title"].as_str())
        .collect();
    for want in ["One request's logs", "One trace's logs and spans"] {
        assert!(
            titles.contains(want),
            "no saved search {want:?}: {titles:?}"
        );
    }
    for s in searches {
        let attrs = &s["attributes"];
        let source: Value = serde_json::from_str(
            attrs["kibanaSavedObjectMeta"]["searchSourceJSON"]
                .as_str()
                .expect("searchSourceJSON is a JSON string"),
        )
        .unwrap_or_else(|e| panic!("{}: searchSourceJSON: {e}", s["id"]));
        let ref_name = source["indexRefName"].as_str().expect("indexRefName");
        let names: Vec<&str> = s["references"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["type"] == "index-pattern")
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(
            names.contains(&ref_name),
            "{}: {ref_name} not in {names:?}",
            s["id"]
        );
        assert_eq!(source["query"]["language"], "kuery", "{}", s["id"]);
        assert!(
            attrs["columns"].as_array().is_some_and(|c| !c.is_empty()),
            "{}: no columns",
            s["id"]
        );
    }
}

/// Every Kibana Discover link we build or provision names a data view in the file:
/// the on-call relay's (oncall/src/relay/links.rs) and Grafana's.
#[test]
fn every_linked_data_view_exists() {
    let objects = objects();
    let ids = by_id(&objects);
    let links_rs = read("oncall/src/relay/links.rs");
    let relay_view = links_rs
        .lines()
        .find_map(|l| l.trim().strip_prefix("pub const LOGS_DATA_VIEW: &str = \""))
        .and_then(|rest| rest.strip_suffix("\";"))
        .expect("LOGS_DATA_VIEW in oncall/src/relay/links.rs");
    assert!(ids.contains_key(relay_view), "relay links to {relay_view}");

    let mut texts = vec![read("grafana/provisioning/datasources/datasources.yml")];
    let dir = root().join("grafana/dashboards");
    for entry in std::fs::read_dir(&dir).expect("grafana/dashboards") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            texts.push(std::fs::read_to_string(&path).expect("dashboard"));
        }
    }
    let mut linked = 0;
    for text in &texts {
        for (at, _) in text.match_indices("dataViewId:'") {
            let rest = &text[at + "dataViewId:'".len()..];
            let id = &rest[..rest.find('\'').expect("closing quote")];
            assert!(
                ids.contains_key(id),
                "a Kibana link names missing data view {id}"
            );
            linked += 1;
        }
    }
    assert!(linked > 0, "no Kibana links found in Grafana's files");
}
