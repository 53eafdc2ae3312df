//! A table panel's rows from its instant queries, with the transformations our
//! dashboards use: `merge` (one row per label set, one value column per query,
//! `Value #A`, ...), `organize` (exclude, order, rename columns) and `sortBy`.
//! Queries are always merged: without it Grafana shows one query at a time,
//! which a static page cannot offer.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::Value;

use super::fetch::TargetResult;
use crate::dashboards::Panel;
use crate::prometheus::Labels;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The field's name before `organize` renamed it (`Value #A`, `http_route`).
    pub field: String,
    /// What the header shows.
    pub title: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// Each row's labels, for the links of its cells.
    pub row_labels: Vec<BTreeMap<String, String>>,
}

/// The merged table of `results` (each series' last sample is its value).
pub fn build(panel: &Panel, results: &[TargetResult]) -> Table {
    let value_field = |ref_id: &str| {
        if results.len() == 1 {
            "Value".to_owned()
        } else {
            format!("Value #{ref_id}")
        }
    };
    let mut label_names: Vec<String> = Vec::new();
    let mut value_fields: Vec<String> = Vec::new();
    let mut merged: BTreeMap<Labels, BTreeMap<String, f64>> = BTreeMap::new();
    for result in results {
        let field = value_field(&result.ref_id);
        value_fields.push(field.clone());
        for series in result.outcome.iter().flatten() {
            let mut labels = series.labels.clone();
            labels.remove("__name__");
            for name in labels.keys() {
                if !label_names.contains(name) {
                    label_names.push(name.clone());
                }
            }
            if let Some(last) = series.samples.last() {
                merged
                    .entry(labels)
                    .or_default()
                    .insert(field.clone(), last.v);
            }
        }
    }
    label_names.sort();
    let mut fields: Vec<String> = label_names.iter().cloned().chain(value_fields).collect();
    let mut rows: Vec<(Labels, BTreeMap<String, f64>)> = merged.into_iter().collect();

    let mut titles: BTreeMap<String, String> = BTreeMap::new();
    for transformation in &panel.transformations {
        let options = &transformation.options;
        match transformation.id.as_str() {
            "organize" => organize(options, &mut fields, &mut titles),
            "sortBy" => {
                if let Some((field, desc)) = sort_key(options, &fields, &titles) {
                    rows.sort_by(|a, b| {
                        compare(&cell(&a.0, &a.1, &field), &cell(&b.0, &b.1, &field), desc)
                    });
                }
            }
            _ => {}
        }
    }
    Table {
        columns: fields
            .iter()
            .map(|f| Column {
                field: f.clone(),
                title: titles.get(f).cloned().unwrap_or_else(|| f.clone()),
            })
            .collect(),
        rows: rows
            .iter()
            .map(|(labels, values)| fields.iter().map(|f| cell(labels, values, f)).collect())
            .collect(),
        row_labels: rows.into_iter().map(|(labels, _)| labels).collect(),
    }
}

fn cell(labels: &Labels, values: &BTreeMap<String, f64>, field: &str) -> Cell {
    if let Some(v) = values.get(field) {
        Cell::Number(*v)
    } else if let Some(text) = labels.get(field) {
        Cell::Text(text.clone())
    } else {
        Cell::Empty
    }
}

/// Numbers by value, text by text, in the asked direction; empty cells and
/// NaN last either way (they have nothing to rank by).
fn compare(a: &Cell, b: &Cell, desc: bool) -> Ordering {
    let blank = |c: &Cell| matches!(c, Cell::Empty) || matches!(c, Cell::Number(n) if n.is_nan());
    match (blank(a), blank(b)) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let order = match (a, b) {
        (Cell::Number(x), Cell::Number(y)) => x.total_cmp(y),
        (Cell::Text(x), Cell::Text(y)) => x.cmp(y),
        (Cell::Number(_), _) => Ordering::Less,
        _ => Ordering::Greater,
    };
    if desc {
        order.reverse()
    } else {
        order
    }
}

/// `{"excludeByName": {...}, "indexByName": {...}, "renameByName": {...}}`
fn organize(options: &Value, fields: &mut Vec<String>, titles: &mut BTreeMap<String, String>) {
    let excluded = |f: &String| options["excludeByName"][f.as_str()].as_bool() == Some(true);
    fields.retain(|f| !excluded(f));
    if let Some(index) = options["indexByName"].as_object() {
        // Named fields in their given order, the others after them as they were.
        let position = |f: &String| index.get(f).and_then(Value::as_u64).unwrap_or(u64::MAX);
        fields.sort_by_key(position);
    }
    if let Some(renames) = options["renameByName"].as_object() {
        for (field, title) in renames {
            if let Some(title) = title.as_str().filter(|t| !t.is_empty()) {
                titles.insert(field.clone(), title.to_owned());
            }
        }
    }
}

/// `{"sort": [{"field": "Requests/s", "desc": true}]}`; the field may be named
/// by its title after `organize`.
fn sort_key(
    options: &Value,
    fields: &[String],
    titles: &BTreeMap<String, String>,
) -> Option<(String, bool)> {
    let first = options["sort"].as_array()?.first()?;
    let wanted = first["field"].as_str()?;
    let desc = first["desc"].as_bool().unwrap_or(false);
    fields
        .iter()
        .find(|f| f.as_str() == wanted || titles.get(*f).is_some_and(|t| t == wanted))
        .map(|f| (f.clone(), desc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prometheus::{Sample, Series};

    fn series(route: &str, v: f64) -> Series {
        Series {
            labels: [
                ("__name__".to_owned(), "x".to_owned()),
                ("http_route".to_owned(), route.to_owned()),
            ]
            .into(),
            samples: vec![Sample { t: 1.0, v }],
        }
    }

    fn result(ref_id: &str, series: Vec<Series>) -> TargetResult {
        TargetResult {
            ref_id: ref_id.to_owned(),
            legend_format: None,
            query: "q".to_owned(),
            outcome: Ok(series),
        }
    }

    fn panel(transformations: Value) -> Panel {
        serde_json::from_value(serde_json::json!({
            "id": 1, "type": "table", "title": "t", "transformations": transformations
        }))
        .expect("panel")
    }

    #[test]
    fn queries_merge_by_labels_then_organize_and_sort() {
        let p = panel(serde_json::json!([
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": {"Time": true},
                "indexByName": {"http_route": 0, "Value #A": 1, "Value #B": 2},
                "renameByName": {"http_route": "Route", "Value #A": "Requests/s", "Value #B": "p99"}}},
            {"id": "sortBy", "options": {"sort": [{"field": "Requests/s", "desc": true}]}}
        ]));
        let results = [
            result("A", vec![series("/health", 2.0), series("/projects", 5.0)]),
            result(
                "B",
                vec![series("/projects", 0.1), series("/todos/{id}", f64::NAN)],
            ),
        ];
        let t = build(&p, &results);
        let titles: Vec<&str> = t.columns.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, vec!["Route", "Requests/s", "p99"]);
        assert_eq!(
            t.rows[..2],
            [
                vec![
                    Cell::Text("/projects".into()),
                    Cell::Number(5.0),
                    Cell::Number(0.1)
                ],
                vec![Cell::Text("/health".into()), Cell::Number(2.0), Cell::Empty],
            ]
        );
        // Only in B, with NaN: sorted after every row A has a value for.
        assert_eq!(
            t.rows[2][..2],
            [Cell::Text("/todos/{id}".into()), Cell::Empty]
        );
        assert!(matches!(t.rows[2][2], Cell::Number(n) if n.is_nan()));
        assert_eq!(t.row_labels[0]["http_route"], "/projects");
    }

    #[test]
    fn one_query_is_a_value_column_and_excluded_fields_go() {
        let p = panel(serde_json::json!([
            {"id": "organize", "options": {"excludeByName": {"job": true}}}
        ]));
        let mut s = series("/a", 1.0);
        s.labels.insert("job".into(), "j".into());
        let t = build(&p, &[result("A", vec![s])]);
        let fields: Vec<&str> = t.columns.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, vec!["http_route", "Value"]);
    }
}
