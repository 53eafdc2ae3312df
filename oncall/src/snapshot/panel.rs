//! One panel's view: its query results turned into what the page shows (a
//! chart, a stat, a table, a note) plus its status, messages and links. No
//! panel is ever dropped: what cannot be drawn says so.

use url::Url;

use super::chart::{self, Line};
use super::fetch::TargetResult;
use super::legend::series_name;
use super::table::{self, Cell};
use super::units::format_value;
use crate::dashboards::{DatasourceKind, Format, Link, Panel, Scope};

/// What the page's `data-status` says of a panel (the stack test reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    NoData,
    Error,
    NotRendered,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NoData => "no-data",
            Status::Error => "error",
            Status::NotRendered => "not-rendered",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ResolvedLink {
    pub title: String,
    /// The URL, or why it could not be built.
    pub href: Result<String, String>,
}

#[derive(Debug, Clone)]
pub struct LegendEntry {
    pub name: String,
    pub color: String,
}

#[derive(Debug, Clone)]
pub struct StatValue {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct TableCell {
    pub text: String,
    pub numeric: bool,
    pub links: Vec<ResolvedLink>,
}

#[derive(Debug, Clone)]
pub enum Body {
    Chart {
        svg: String,
        legend: Vec<LegendEntry>,
    },
    Stat(Vec<StatValue>),
    Table {
        headers: Vec<String>,
        rows: Vec<Vec<TableCell>>,
    },
    Text(String),
    Nothing,
}

#[derive(Debug, Clone)]
pub struct View {
    pub id: u64,
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    /// Grafana grid columns (of 24).
    pub width: u32,
    pub status: Status,
    pub body: Body,
    /// Errors, "no data", "not rendered": shown in the panel, escaped.
    pub notes: Vec<String>,
    /// Where to see a panel this page does not draw (its first working link).
    pub see: Option<ResolvedLink>,
    pub links: Vec<ResolvedLink>,
    /// (refId, query as sent), shown under the panel.
    pub queries: Vec<(String, String)>,
}

/// Where relative links (Grafana's `/explore?...`) point.
pub struct LinkBase<'a> {
    pub grafana: &'a Url,
}

pub fn view(panel: &Panel, results: Vec<TargetResult>, scope: &Scope, base: &LinkBase) -> View {
    let width = match panel.grid_pos.w {
        0 => 24,
        w => w.min(24),
    };
    let mut view = View {
        id: panel.id,
        kind: panel.kind.clone(),
        title: panel.title.clone(),
        description: panel.description.clone().filter(|d| !d.is_empty()),
        width,
        status: Status::Ok,
        body: Body::Nothing,
        notes: Vec::new(),
        see: None,
        links: resolve_links(&panel.links, scope, base),
        queries: results
            .iter()
            .map(|r| (r.ref_id.clone(), r.query.clone()))
            .collect(),
    };
    if panel.kind == "text" {
        let content = panel
            .options
            .as_ref()
            .and_then(|o| o["content"].as_str())
            .unwrap_or("");
        view.body = Body::Text(content.to_owned());
        return view;
    }
    if results.is_empty() {
        not_rendered_elsewhere(panel, scope, &mut view);
        return view;
    }
    for result in &results {
        if let Err(message) = &result.outcome {
            view.status = Status::Error;
            view.notes.push(format!("{}: {message}", result.ref_id));
        }
    }
    let answered: Vec<&TargetResult> = results.iter().filter(|r| r.outcome.is_ok()).collect();
    let has_data = answered.iter().any(|r| {
        r.outcome
            .iter()
            .flatten()
            .any(|s| s.samples.iter().any(|p| p.v.is_finite()))
    });
    if !has_data {
        if view.status == Status::Ok {
            view.status = Status::NoData;
        }
        for r in answered {
            view.notes.push(format!(
                "{}: no data in the time range for `{}`",
                r.ref_id, r.query
            ));
        }
        return view;
    }
    view.body = match panel.kind.as_str() {
        "timeseries" | "graph" => chart_body(panel, &results, scope, &mut view.notes),
        "stat" | "gauge" | "bargauge" => stat_body(panel, &results),
        "table" => table_body(panel, &results, scope, base),
        other => {
            view.status = Status::NotRendered;
            view.notes.push(format!(
                "not rendered: oncall snapshot does not draw {other} panels"
            ));
            Body::Nothing
        }
    };
    view
}

/// A panel on another datasource (the Elasticsearch logs): a clear box with its
/// query and links, rather than a silent gap.
fn not_rendered_elsewhere(panel: &Panel, scope: &Scope, view: &mut View) {
    let datasources: Vec<String> = panel
        .visible_targets()
        .map(|t| panel.target_datasource(t))
        .chain(panel.datasource.clone())
        .filter(|d| d.kind() != DatasourceKind::Prometheus)
        .map(|d| d.describe())
        .fold(Vec::new(), |mut seen, d| {
            if !seen.contains(&d) {
                seen.push(d);
            }
            seen
        });
    if datasources.is_empty() {
        view.status = Status::NoData;
        view.notes.push("no queries".to_owned());
        return;
    }
    view.status = Status::NotRendered;
    view.see = view.links.iter().find(|l| l.href.is_ok()).cloned();
    let see = if view.see.is_some() {
        "see"
    } else {
        "see it in Grafana"
    };
    view.notes.push(format!(
        "not rendered: {} panel, {see}",
        datasources.join(", ")
    ));
    for target in panel.visible_targets() {
        if let Some(query) = &target.query {
            let shown = scope
                .interpolate_as(query, Format::Lucene)
                .unwrap_or_else(|e| format!("{query} ({e})"));
            view.queries.push((target.ref_id.clone(), shown));
        }
    }
}

fn chart_body(
    panel: &Panel,
    results: &[TargetResult],
    scope: &Scope,
    notes: &mut Vec<String>,
) -> Body {
    let mut lines = Vec::new();
    let mut legend = Vec::new();
    for result in results {
        for series in result.outcome.iter().flatten() {
            let color = chart::color(lines.len());
            legend.push(LegendEntry {
                name: series_name(
                    result.legend_format.as_deref(),
                    &series.labels,
                    &result.ref_id,
                ),
                color: chart::hex(color),
            });
            lines.push(Line {
                color,
                points: series.samples.iter().map(|s| (s.t, s.v)).collect(),
            });
        }
    }
    if panel.is_stacked() {
        chart::stack(&mut lines);
    }
    let frame = chart::Frame {
        range: scope.range(),
        step: scope.intervals().interval,
        unit: panel.unit(),
        size: chart_size(panel),
        thresholds: panel
            .threshold_lines()
            .into_iter()
            .map(|(value, color)| (value, chart::named_color(color)))
            .collect(),
    };
    match chart::line_chart(&lines, &frame) {
        Ok(svg) => Body::Chart { svg, legend },
        Err(e) => {
            notes.push(format!("the chart could not be drawn: {e}"));
            Body::Nothing
        }
    }
}

/// Pixels for a panel of the grid's size: a 24-column page about 1340 px wide,
/// Grafana's 30 px grid rows.
fn chart_size(panel: &Panel) -> (u32, u32) {
    let w = panel.grid_pos.w.clamp(1, 24);
    let h = if panel.grid_pos.h == 0 {
        8
    } else {
        panel.grid_pos.h
    };
    (
        (w * 56).saturating_sub(30).max(240),
        (h * 30).saturating_sub(20).max(180),
    )
}

/// Grafana's reducers for a stat (`options.reduceOptions.calcs[0]`).
fn reduce(calc: &str, values: &[f64]) -> Option<f64> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    match calc {
        "last" => values.last().copied(),
        "first" => values.first().copied(),
        "firstNotNull" => finite.first().copied(),
        "mean" if !finite.is_empty() => Some(finite.iter().sum::<f64>() / finite.len() as f64),
        "max" => finite.iter().copied().reduce(f64::max),
        "min" => finite.iter().copied().reduce(f64::min),
        "sum" => Some(finite.iter().sum()),
        _ => finite.last().copied(),
    }
}

fn stat_body(panel: &Panel, results: &[TargetResult]) -> Body {
    let calc = panel
        .options
        .as_ref()
        .and_then(|o| o["reduceOptions"]["calcs"][0].as_str())
        .unwrap_or("lastNotNull");
    let mut values = Vec::new();
    for result in results {
        for series in result.outcome.iter().flatten() {
            let samples: Vec<f64> = series.samples.iter().map(|s| s.v).collect();
            let text = reduce(calc, &samples)
                .map(|v| format_value(v, panel.unit()))
                .unwrap_or_else(|| "no value".to_owned());
            values.push(StatValue {
                name: series_name(
                    result.legend_format.as_deref(),
                    &series.labels,
                    &result.ref_id,
                ),
                text,
            });
        }
    }
    Body::Stat(values)
}

fn table_body(panel: &Panel, results: &[TargetResult], scope: &Scope, base: &LinkBase) -> Body {
    let answered: Vec<TargetResult> = results
        .iter()
        .filter(|r| r.outcome.is_ok())
        .cloned()
        .collect();
    let table = table::build(panel, &answered);
    // A column's settings may be keyed by its new title or its field name.
    let property = |column: &table::Column, id: &str| {
        panel
            .override_property(&column.title, id)
            .or_else(|| panel.override_property(&column.field, id))
            .cloned()
    };
    let units: Vec<Option<String>> = table
        .columns
        .iter()
        .map(|c| {
            property(c, "unit")
                .and_then(|u| u.as_str().map(str::to_owned))
                .or_else(|| panel.unit().map(str::to_owned))
        })
        .collect();
    let links: Vec<Vec<Link>> = table
        .columns
        .iter()
        .map(|c| {
            property(c, "links")
                .and_then(|l| serde_json::from_value(l).ok())
                .unwrap_or_default()
        })
        .collect();
    let rows = table
        .rows
        .iter()
        .zip(&table.row_labels)
        .map(|(row, labels)| {
            let row_scope = scope.with_row(labels.clone());
            row.iter()
                .enumerate()
                .map(|(i, cell)| TableCell {
                    text: match cell {
                        Cell::Number(v) => format_value(*v, units[i].as_deref()),
                        Cell::Text(t) => t.clone(),
                        Cell::Empty => String::new(),
                    },
                    numeric: matches!(cell, Cell::Number(_)),
                    links: resolve_links(&links[i], &row_scope, base),
                })
                .collect()
        })
        .collect();
    Body::Table {
        headers: table.columns.iter().map(|c| c.title.clone()).collect(),
        rows,
    }
}

/// Links with variables and the time range substituted; a relative URL is
/// Grafana's own, so it is made absolute against `--grafana-url`. Only http(s):
/// a `javascript:` link from a dashboard file never reaches the page.
pub fn resolve_links(links: &[Link], scope: &Scope, base: &LinkBase) -> Vec<ResolvedLink> {
    links
        .iter()
        .map(|link| {
            let title = scope
                .interpolate_as(&link.title, Format::Text)
                .unwrap_or_else(|_| link.title.clone());
            let href = scope
                .interpolate_as(&link.url, Format::Raw)
                .map_err(|e| e.to_string())
                .and_then(|url| absolute(&url, base.grafana));
            ResolvedLink { title, href }
        })
        .collect()
}

fn absolute(url: &str, grafana: &Url) -> Result<String, String> {
    let parsed = match Url::parse(url) {
        Ok(parsed) => parsed,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            grafana.join(url).map_err(|e| format!("{url}: {e}"))?
        }
        Err(e) => return Err(format!("{url}: {e}")),
    };
    match parsed.scheme() {
        "http" | "https" => Ok(parsed.to_string()),
        other => Err(format!("{other}: links are http(s) only")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboards::{self, Intervals, Selection, TimeRange};
    use crate::prometheus::{Sample, Series};

    fn fixture() -> dashboards::Dashboard {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dashboards");
        dashboards::find(&dir, "fixture-api").expect("fixture")
    }

    fn scope(d: &dashboards::Dashboard) -> Scope {
        let now = "2026-01-01T12:00:00Z".parse().expect("time");
        let range = TimeRange::last(std::time::Duration::from_secs(600), now);
        let mut scope = Scope::new(
            range,
            Intervals::for_range(&range, 600, dashboards::SCRAPE_INTERVAL),
        );
        for v in &d.templating.list {
            scope.bind(
                v,
                Selection::All,
                vec!["/health".to_owned(), "/projects".to_owned()],
            );
        }
        scope
    }

    fn by_id(d: &dashboards::Dashboard, id: u64) -> Panel {
        d.panels_flat()
            .into_iter()
            .find(|p| p.id == id)
            .cloned()
            .expect("panel")
    }

    fn result(outcome: Result<Vec<Series>, String>) -> TargetResult {
        TargetResult {
            ref_id: "A".to_owned(),
            legend_format: Some("p99 {{http_route}}".to_owned()),
            query: "q{a=\"b\"}".to_owned(),
            outcome,
        }
    }

    fn series(route: &str) -> Series {
        Series {
            labels: [("http_route".to_owned(), route.to_owned())].into(),
            samples: (0..10)
                .map(|i| Sample {
                    t: 1_767_268_200.0 + 5.0 * i as f64,
                    v: 0.01 * i as f64,
                })
                .collect(),
        }
    }

    fn grafana() -> Url {
        "http://127.0.0.1:3000".parse().expect("url")
    }

    #[test]
    fn a_logs_panel_on_elasticsearch_says_it_is_not_rendered_and_where_to_look() {
        let d = fixture();
        let grafana = grafana();
        let v = view(
            &by_id(&d, 7),
            vec![],
            &scope(&d),
            &LinkBase { grafana: &grafana },
        );
        assert_eq!(v.status, Status::NotRendered);
        assert_eq!(
            v.notes[0],
            "not rendered: elasticsearch (elasticsearch-logs) panel, see"
        );
        assert_eq!(
            v.see.and_then(|l| l.href.ok()).as_deref(),
            Some("http://127.0.0.1:5601/app/discover")
        );
        // Its query is shown, substituted (All is the variable's allValue).
        assert_eq!(v.queries[0].1, "log.level:error AND http.route:.*");
    }

    #[test]
    fn query_errors_and_empty_results_are_shown_in_the_panel() {
        let d = fixture();
        let grafana = grafana();
        let base = LinkBase { grafana: &grafana };
        let panel = by_id(&d, 3);
        let failed = view(
            &panel,
            vec![result(Err("Prometheus refused query `q`: bad_data".into()))],
            &scope(&d),
            &base,
        );
        assert_eq!(failed.status, Status::Error);
        assert_eq!(
            failed.notes,
            vec!["A: Prometheus refused query `q`: bad_data"]
        );
        let empty = view(&panel, vec![result(Ok(vec![]))], &scope(&d), &base);
        assert_eq!(empty.status, Status::NoData);
        assert!(
            empty.notes[0].contains("no data in the time range for `q{a=\"b\"}`"),
            "{:?}",
            empty.notes
        );
    }

    #[test]
    fn a_time_series_panel_is_a_chart_with_its_legend_and_links() {
        let d = fixture();
        let grafana = grafana();
        let v = view(
            &by_id(&d, 3),
            vec![result(Ok(vec![series("/health"), series("/projects")]))],
            &scope(&d),
            &LinkBase { grafana: &grafana },
        );
        assert_eq!(v.status, Status::Ok);
        let Body::Chart { svg, legend } = v.body else {
            panic!("a chart: {:?}", v.body)
        };
        assert!(svg.starts_with("<svg"));
        let names: Vec<&str> = legend.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, vec!["p99 /health", "p99 /projects"]);
        assert_eq!(v.links[0].title, "Logs of All");
        let href = v.links[0].href.clone().expect("a link");
        assert!(
            href.contains("http.route:.*&from=1767268200000&to=1767268800000"),
            "{href}"
        );
    }

    #[test]
    fn a_stat_is_its_reduced_value_in_the_unit() {
        let d = fixture();
        let grafana = grafana();
        let mut r = result(Ok(vec![series("/health")]));
        r.legend_format = None;
        let v = view(
            &by_id(&d, 4),
            vec![r],
            &scope(&d),
            &LinkBase { grafana: &grafana },
        );
        let Body::Stat(values) = v.body else {
            panic!("a stat")
        };
        assert_eq!(values[0].text, "0.09");
        assert_eq!(values[0].name, "{http_route=\"/health\"}");
    }

    #[test]
    fn reducers_match_grafana() {
        let v = [1.0, f64::NAN, 3.0, f64::NAN];
        assert_eq!(reduce("lastNotNull", &v), Some(3.0));
        assert!(reduce("last", &v).is_some_and(f64::is_nan));
        assert_eq!(reduce("mean", &v), Some(2.0));
        assert_eq!(reduce("max", &v), Some(3.0));
        assert_eq!(reduce("lastNotNull", &[f64::NAN]), None);
    }

    #[test]
    fn relative_links_go_to_grafana_and_only_http_is_kept() {
        let grafana: Url = "http://127.0.0.1:3000".parse().expect("url");
        assert_eq!(
            absolute("/explore?x=%7B%7D", &grafana),
            Ok("http://127.0.0.1:3000/explore?x=%7B%7D".to_owned())
        );
        assert_eq!(
            absolute("http://127.0.0.1:5601/app/discover#/?q=1", &grafana),
            Ok("http://127.0.0.1:5601/app/discover#/?q=1".to_owned())
        );
        assert!(absolute("javascript:alert(1)", &grafana).is_err());
    }
}
