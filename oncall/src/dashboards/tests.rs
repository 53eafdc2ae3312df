//! The model against a fixture shaped like our provisioned dashboards, and
//! substitution against Grafana's documented behaviour.

use std::path::PathBuf;
use std::time::Duration;

use super::*;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dashboards")
}

fn fixture() -> Dashboard {
    find(&fixtures(), "fixture-api").expect("the fixture loads")
}

fn scope_at_30m() -> Scope {
    let now = "2026-01-01T12:00:00Z".parse().expect("time");
    let range = TimeRange::last(Duration::from_secs(1800), now);
    Scope::new(
        range,
        Intervals::for_range(&range, MAX_DATA_POINTS, SCRAPE_INTERVAL),
    )
}

fn variable(name: &str, multi: bool, include_all: bool, all_value: Option<&str>) -> Variable {
    serde_json::from_value(serde_json::json!({
        "name": name, "type": "query", "multi": multi, "includeAll": include_all,
        "allValue": all_value,
    }))
    .expect("variable")
}

fn values(v: &[&str]) -> Selection {
    Selection::Values(v.iter().map(|s| (*s).to_owned()).collect())
}

#[test]
fn the_model_reads_variables_panels_and_targets() {
    let d = fixture();
    assert_eq!(d.title, "Fixture API");
    assert!(d.source.ends_with("api.json"));
    let route = d.variable("route").expect("route");
    // The object form of a variable query lands in `query`.
    assert_eq!(
        route.query,
        "label_values(http_server_request_duration_seconds_count, http_route)"
    );
    assert!(route.multi && route.include_all);
    assert_eq!(route.all_value.as_deref(), Some(".*"));
    assert_eq!(
        route.current.as_ref().map(|c| c.value.clone()),
        Some(vec!["$__all".to_owned()])
    );
    let instance = d.variable("instance").expect("instance");
    // A datasource given by name.
    assert_eq!(
        instance.datasource.as_ref().and_then(|d| d.uid.as_deref()),
        Some("Prometheus")
    );

    let latency = d
        .panels_flat()
        .into_iter()
        .find(|p| p.id == 3)
        .expect("panel 3");
    assert_eq!(latency.kind, "timeseries");
    assert_eq!(latency.unit(), Some("s"));
    assert_eq!(
        latency.grid_pos,
        GridPos {
            h: 8,
            w: 12,
            x: 12,
            y: 1
        }
    );
    let target = &latency.targets[0];
    assert_eq!(target.ref_id, "A");
    assert_eq!(target.legend_format.as_deref(), Some("p99 {{http_route}}"));
    assert_eq!((target.range, target.exemplar), (Some(true), Some(true)));
    assert_eq!(latency.links[0].title, "Logs of $route");
}

#[test]
fn sections_follow_rows_and_the_grid_and_include_collapsed_rows() {
    let d = fixture();
    let sections = d.sections();
    let titles: Vec<Option<&str>> = sections.iter().map(|s| s.title).collect();
    assert_eq!(titles, vec![Some("Traffic"), Some("Details")]);
    let ids = |s: &Section| s.panels.iter().map(|p| p.id).collect::<Vec<_>>();
    // Panel 2 is at x=0, panel 3 at x=12 on the same row: grid order, not file order.
    assert_eq!(ids(&sections[0]), vec![2, 3, 4]);
    assert_eq!(ids(&sections[1]), vec![6, 7]);
    assert_eq!(
        d.panels_flat().iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![2, 3, 4, 6, 7]
    );
}

#[test]
fn target_datasources_resolve_to_their_kind() {
    let d = fixture();
    let panels = d.panels_flat();
    let by_id = |id| panels.iter().find(|p| p.id == id).expect("panel");
    // No datasource anywhere: Grafana's default, Prometheus.
    let rate = by_id(2);
    assert_eq!(
        rate.target_datasource(&rate.targets[0]).kind(),
        DatasourceKind::Prometheus
    );
    let logs = by_id(7);
    let ds = logs.target_datasource(&logs.targets[0]);
    assert_eq!(ds.kind(), DatasourceKind::Elasticsearch);
    assert_eq!(ds.describe(), "elasticsearch (elasticsearch-logs)");
    // Hidden targets are not run.
    assert_eq!(by_id(6).visible_targets().count(), 2);
    assert_eq!(
        by_id(6)
            .override_property("Value #B", "displayName")
            .and_then(|v| v.as_str()),
        Some("p99")
    );
}

#[test]
fn thresholds_draw_only_when_styled_and_stacking_is_read() {
    let d = fixture();
    let panels = d.panels_flat();
    let by_id = |id| panels.iter().find(|p| p.id == id).expect("panel");
    assert_eq!(by_id(3).threshold_lines(), vec![(1.0, "red")]);
    assert!(!by_id(3).is_stacked());
    assert!(by_id(2).threshold_lines().is_empty(), "thresholdsStyle off");
    assert!(by_id(2).is_stacked());
    assert!(by_id(4).threshold_lines().is_empty(), "no custom settings");
}

#[test]
fn a_broken_dashboard_names_its_file_and_the_json_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.json");
    std::fs::write(
        &path,
        r#"{"uid": "x", "title": "x", "panels": [{"id": 1, "targets": [{"instant": "yes"}]}]}"#,
    )
    .expect("write");
    let err = load_dir(dir.path())
        .expect_err("instant is not a bool")
        .to_string();
    assert!(err.contains("broken.json"), "{err}");
    assert!(err.contains("panels[0].targets[0].instant"), "{err}");

    let err = find(&fixtures(), "nope")
        .expect_err("no such uid")
        .to_string();
    assert!(
        err.contains("fixture-api"),
        "the known uids are listed: {err}"
    );
}

#[test]
fn single_values_and_builtins_substitute() {
    let mut scope = scope_at_30m();
    scope.bind(
        &variable("instance", false, false, None),
        values(&["127.0.0.1:8080"]),
        vec![],
    );
    let q = scope
        .interpolate(
            r#"rate(x{instance="$instance"}[$__rate_interval]) * $__interval_ms / ${__range_s}"#,
        )
        .expect("substitutes");
    assert_eq!(
        q,
        r#"rate(x{instance="127.0.0.1:8080"}[20s]) * 5000 / 1800"#
    );
    assert_eq!(
        scope
            .interpolate("[$__interval] [$__range] [[instance]]")
            .expect("ok"),
        "[5s] [1800s] 127.0.0.1:8080"
    );
}

#[test]
fn all_becomes_the_all_value_or_an_alternation_of_every_option() {
    let routes = vec!["/health".to_owned(), "/projects/{id}".to_owned()];
    let mut scope = scope_at_30m();
    scope.bind(
        &variable("route", true, true, Some(".*")),
        Selection::All,
        routes.clone(),
    );
    assert_eq!(
        scope.interpolate(r#"{r=~"$route"}"#).expect("ok"),
        r#"{r=~".*"}"#
    );
    assert_eq!(
        scope
            .interpolate_as("route $route", Format::Text)
            .expect("ok"),
        "route All"
    );

    scope.bind(&variable("route", true, true, None), Selection::All, routes);
    // Regex-escaped for a regex inside a PromQL string: `\\{` reaches the regex as `\{`.
    assert_eq!(
        scope.interpolate(r#"{r=~"${route}"}"#).expect("ok"),
        r#"{r=~"(/health|/projects/\\{id\\})"}"#
    );
}

#[test]
fn multi_values_are_escaped_alternations_and_formats_apply() {
    let mut scope = scope_at_30m();
    scope.bind(
        &variable("method", true, true, Some(".*")),
        values(&["GET", "POST"]),
        vec![],
    );
    assert_eq!(scope.interpolate("$method").expect("ok"), "(GET|POST)");
    assert_eq!(scope.interpolate("${method:csv}").expect("ok"), "GET,POST");
    assert_eq!(scope.interpolate("${method:pipe}").expect("ok"), "GET|POST");
    assert_eq!(
        scope.interpolate("${method:text}").expect("ok"),
        "GET + POST"
    );
    assert_eq!(
        scope.interpolate("${method:lucene}").expect("ok"),
        r#"("GET" OR "POST")"#
    );
    assert_eq!(
        scope.interpolate("${method:queryparam}").expect("ok"),
        "var-method=GET&var-method=POST"
    );
    scope.bind(
        &variable("route", true, false, None),
        values(&["/projects/{id}"]),
        vec![],
    );
    // One value of a multi variable: escaped, no parentheses.
    assert_eq!(
        scope.interpolate("$route").expect("ok"),
        r"/projects/\\{id\\}"
    );
    assert_eq!(
        scope.interpolate("${route:regex}").expect("ok"),
        r"\/projects\/\{id\}"
    );
    assert_eq!(
        scope
            .interpolate_as("${route:lucene}", Format::Raw)
            .expect("ok"),
        r"\/projects\/\{id\}"
    );
    assert_eq!(
        scope
            .interpolate_as("${route}", Format::PercentEncode)
            .expect("ok"),
        "%2Fprojects%2F%7Bid%7D"
    );
}

#[test]
fn single_values_keep_regex_characters_but_escape_quotes() {
    let mut scope = scope_at_30m();
    scope.bind(
        &variable("job", false, false, None),
        values(&[r#"a"b\c.d"#]),
        vec![],
    );
    assert_eq!(scope.interpolate("$job").expect("ok"), r#"a\"b\\c.d"#);
}

#[test]
fn unknown_variables_and_formats_are_errors_but_backreferences_are_not() {
    let scope = scope_at_30m();
    assert_eq!(
        scope.interpolate("rate(x[$__rate_interval]) by $rout"),
        Err(SubstitutionError::Unknown {
            name: "rout".to_owned()
        })
    );
    assert_eq!(
        scope
            .interpolate(r#"label_replace(up, "a", "$1", "b", "(.*)") and on() vector($)"#)
            .expect("$1 and a lone $ stay"),
        r#"label_replace(up, "a", "$1", "b", "(.*)") and on() vector($)"#
    );
    let mut scope = scope_at_30m();
    scope.bind(&variable("route", true, true, None), Selection::All, vec![]);
    assert!(matches!(
        scope.interpolate("$route"),
        Err(SubstitutionError::NoValue { .. })
    ));
    assert!(matches!(
        scope.interpolate("${route:yaml}"),
        Err(SubstitutionError::UnknownFormat { .. })
    ));
}

#[test]
fn time_builtins_for_links() {
    let scope = scope_at_30m();
    assert_eq!(
        scope.interpolate("${__url_time_range}").expect("ok"),
        "from=1767267000000&to=1767268800000"
    );
    assert_eq!(
        scope.interpolate("$__from-$__to").expect("ok"),
        "1767267000000-1767268800000"
    );
    assert_eq!(
        scope
            .interpolate("${__from:date:iso}/${__to:date}/${__to:date:seconds}")
            .expect("ok"),
        "2026-01-01T11:30:00.000Z/2026-01-01T12:00:00.000Z/1767268800"
    );
    assert!(scope.interpolate("${__to:date:YYYY}").is_err());
}

#[test]
fn data_links_take_their_row_fields() {
    let row = [("http_route".to_owned(), "/projects/{id}".to_owned())].into();
    let scope = scope_at_30m().with_row(row);
    assert_eq!(
        scope
            .interpolate_as(
                "q=${__data.fields.http_route:percentencode}&l=${__field.labels.http_route}",
                Format::Raw
            )
            .expect("ok"),
        "q=%2Fprojects%2F%7Bid%7D&l=/projects/{id}"
    );
    assert!(scope.interpolate("${__data.fields.nope}").is_err());
    assert!(scope.interpolate("${__value.raw}").is_err());
}

#[test]
fn references_are_listed_with_their_format() {
    let names: Vec<(String, Option<String>, Option<String>)> = references(
        "a $route ${method:csv} [[instance]] ${__field.labels.x} ${__to:date:iso} $1 ${} ${a.} $",
    )
    .into_iter()
    .map(|r| (r.name, r.field, r.format))
    .collect();
    let s = |s: &str| Some(s.to_owned());
    assert_eq!(
        names,
        vec![
            ("route".to_owned(), None, None),
            ("method".to_owned(), None, s("csv")),
            ("instance".to_owned(), None, None),
            ("__field".to_owned(), s("labels.x"), None),
            ("__to".to_owned(), None, s("date:iso")),
        ]
    );
}

#[test]
fn label_values_queries_parse() {
    assert_eq!(
        parse_label_values("label_values(http_server_request_duration_seconds_count, http_route)"),
        Some(LabelValuesQuery {
            selector: Some("http_server_request_duration_seconds_count".to_owned()),
            label: "http_route".to_owned()
        })
    );
    assert_eq!(
        parse_label_values(r#"label_values(m{a="x,y", b=~"$route"}, instance)"#),
        Some(LabelValuesQuery {
            selector: Some(r#"m{a="x,y", b=~"$route"}"#.to_owned()),
            label: "instance".to_owned()
        })
    );
    assert_eq!(
        parse_label_values(" label_values( job ) "),
        Some(LabelValuesQuery {
            selector: None,
            label: "job".to_owned()
        })
    );
    assert_eq!(parse_label_values("query_result(up)"), None);
    assert_eq!(parse_label_values("label_values(m, not a label)"), None);
}

#[test]
fn defaults_are_the_saved_value_all_or_the_first_option() {
    let d = fixture();
    let options = vec!["a".to_owned(), "b".to_owned()];
    let route = d.variable("route").expect("route");
    assert_eq!(default_selection(route, &options), Selection::All);
    let instance = d.variable("instance").expect("instance");
    assert_eq!(default_selection(instance, &options), values(&["a"]));
    let mut saved = instance.clone();
    saved.current = Some(Current {
        value: vec!["b".to_owned()],
    });
    assert_eq!(default_selection(&saved, &options), values(&["b"]));
    saved.current = Some(Current {
        value: vec!["gone".to_owned()],
    });
    assert_eq!(default_selection(&saved, &options), values(&["a"]));
}
