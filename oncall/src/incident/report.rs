//! `report.md`: the readable summary of a bundle: what was exported and when,
//! which requests, what the metrics and alerts said, the first error with its
//! stack trace, and links to the dashboard and the logs. Pure: it is built
//! from what the other files hold, so it never says more than they do.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use url::Url;

use super::alerts::Seen;
use super::gather::{Doc, Gathered};
use super::METRICS_MARGIN;

/// The dashboard the links open (grafana/dashboards/api.json).
pub const DASHBOARD_UID: &str = "alertingscout-api";
/// Request rows shown; the rest are counted (logs.ndjson has them all).
pub const MAX_ROWS: usize = 50;
/// Added either side of the window in the log links.
const LINK_PAD: chrono::Duration = chrono::Duration::minutes(1);

pub struct ReportInput<'a> {
    pub title: String,
    pub exported_at: DateTime<Utc>,
    pub operator: &'a str,
    pub role: &'a str,
    pub gathered: &'a Gathered,
    /// Peak over the window of each metric (legend, value in its unit), or why none.
    pub peaks: Vec<(String, Result<Option<String>, String>)>,
    pub alerts: &'a Result<Vec<Seen>, String>,
    pub grafana: &'a Url,
    pub kibana: &'a Url,
    /// Every file of the bundle but the report and the manifest.
    pub files: Vec<String>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Inline code that survives any text (backticks and newlines in values).
fn code(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let ticks = longest_run(&flat, '`') + 1;
    let fence = "`".repeat(ticks);
    let pad = if flat.starts_with('`') || flat.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{flat}{pad}{fence}")
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// `[A-Za-z0-9._-]`, as the service keeps request ids.
fn shell_safe(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A table cell: pipes escaped, on one line.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn field(d: &Doc, name: &str) -> Option<String> {
    match d.source.get(name)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// One row per request: its first record's time, trace, and the access log's
/// method, route, status and duration.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RequestRow {
    pub first: Option<DateTime<Utc>>,
    pub request_id: String,
    pub trace_id: Option<String>,
    pub method: Option<String>,
    pub route: Option<String>,
    pub status: Option<String>,
    pub duration_ms: Option<String>,
    pub errors: usize,
}

fn is_error(d: &Doc) -> bool {
    field(d, "log.level").is_some_and(|l| l.eq_ignore_ascii_case("error"))
        || d.source.get("error.stack_trace").is_some()
}

/// The requests of the logs, in order of their first record.
pub fn requests(logs: &[Doc]) -> Vec<RequestRow> {
    let mut rows: Vec<RequestRow> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for d in logs {
        let Some(id) = field(d, "request_id").filter(|i| !i.is_empty()) else {
            continue;
        };
        let i = *index.entry(id.clone()).or_insert_with(|| {
            rows.push(RequestRow {
                first: d.at,
                request_id: id.clone(),
                ..RequestRow::default()
            });
            rows.len() - 1
        });
        let row = &mut rows[i];
        row.trace_id = row.trace_id.take().or_else(|| field(d, "trace.id"));
        if let Some(status) = field(d, "http.response.status_code") {
            row.status = Some(status);
            row.method = field(d, "http.request.method").or(row.method.take());
            row.route = field(d, "http.route").or(row.route.take());
            row.duration_ms = field(d, "duration_ms").or(row.duration_ms.take());
        }
        if is_error(d) {
            row.errors += 1;
        }
    }
    rows
}

/// The first error: the oldest ERROR log record (or one with a stack trace),
/// else the oldest span whose status is an error.
pub fn first_error<'a>(logs: &'a [Doc], spans: &'a [Doc]) -> Option<&'a Doc> {
    logs.iter().find(|d| is_error(d)).or_else(|| {
        spans
            .iter()
            .find(|d| field(d, "status.code").is_some_and(|s| s.eq_ignore_ascii_case("error")))
    })
}

/// The API dashboard over the metrics' range, on the route when there is one.
pub fn grafana_link(
    grafana: &Url,
    route: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> String {
    let mut url = grafana.clone();
    url.set_path(&format!("d/{DASHBOARD_UID}"));
    {
        let mut q = url.query_pairs_mut();
        q.append_pair(
            "from",
            &(from - METRICS_MARGIN).timestamp_millis().to_string(),
        );
        q.append_pair("to", &(to + METRICS_MARGIN).timestamp_millis().to_string());
        if let Some(r) = route {
            q.append_pair("var-route", r);
        }
    }
    url.to_string()
}

/// Kibana Discover on the logs with a KQL `field:"value"` over [from, to].
pub fn kibana_link(
    kibana: &Url,
    field: &str,
    value: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> String {
    // Rison quotes with '...' and escapes ' and ! with !; the KQL quotes and
    // anything outside a URL fragment's safe set are percent-encoded.
    let rison = |s: &str| s.replace('!', "!!").replace('\'', "!'");
    let kql = format!(
        "{field}:\"{}\"",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    );
    let encoded: String = url::form_urlencoded::byte_serialize(rison(&kql).as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    let fragment = format!(
        "/?_g=(time:(from:'{}',to:'{}'))&_a=(dataSource:(dataViewId:'{}',type:dataView),query:(language:kuery,query:'{encoded}'))",
        ts(from),
        ts(to),
        crate::relay::links::LOGS_DATA_VIEW
    );
    let mut url = kibana.clone();
    url.set_path("app/discover");
    url.set_fragment(Some(&fragment));
    url.to_string()
}

pub fn render(input: &ReportInput) -> String {
    let g = input.gathered;
    let mut md = String::new();
    let _ = writeln!(md, "# Incident: {}\n", cell(&input.title));
    let _ = writeln!(
        md,
        "- Exported {} by {} (role {}) with `oncall incident export`",
        ts(input.exported_at),
        code(input.operator),
        input.role
    );
    let _ = writeln!(
        md,
        "- Window: {} to {} (UTC); the metrics cover 30 minutes more on either side",
        ts(g.from),
        ts(g.to)
    );
    let _ = writeln!(
        md,
        "- Route: {}",
        g.route
            .as_deref()
            .map(code)
            .unwrap_or_else(|| "(none found)".into())
    );
    let rows = requests(&g.logs);
    let errors = g.logs.iter().filter(|d| is_error(d)).count();
    let _ = writeln!(
        md,
        "- {} log records ({} errors), {} spans, {} requests, {} traces\n",
        g.logs.len(),
        errors,
        g.spans.len(),
        g.request_ids.len().max(rows.len()),
        g.trace_ids.len()
    );

    md.push_str("## What happened\n\n");
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *statuses
            .entry(r.status.clone().unwrap_or_else(|| "no access log".into()))
            .or_default() += 1;
    }
    if statuses.is_empty() {
        md.push_str("- No request in the logs of this window.\n");
    } else {
        let parts: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} × {s}")).collect();
        let _ = writeln!(md, "- Responses: {}", parts.join(", "));
    }
    let mut first_failure: Option<&str> = None;
    for (legend, peak) in &input.peaks {
        match peak {
            Ok(Some(v)) => {
                let _ = writeln!(md, "- Peak {legend} in the window: {v}");
            }
            Ok(None) => {
                let _ = writeln!(md, "- {legend}: no data in the window");
            }
            Err(e) => {
                let _ = writeln!(md, "- {legend}: Prometheus did not answer");
                first_failure.get_or_insert(e);
            }
        }
    }
    // The reason once (each metrics/*.json file keeps its own).
    if let Some(e) = first_failure {
        let _ = writeln!(md, "- Prometheus's error: {}", cell(e));
    }
    md.push('\n');

    md.push_str("## Alerts\n\n");
    match input.alerts {
        Ok(seen) if !seen.is_empty() => {
            for a in seen {
                let at = |t: f64| {
                    DateTime::<Utc>::from_timestamp_millis((t * 1000.0) as i64)
                        .map(ts)
                        .unwrap_or_default()
                };
                let _ = writeln!(
                    md,
                    "- {} ({}){}: {} to {}",
                    code(&a.alertname),
                    a.state,
                    a.route
                        .as_deref()
                        .map(|r| format!(" on {}", code(r)))
                        .unwrap_or_default(),
                    at(a.first),
                    at(a.last)
                );
            }
        }
        Ok(_) => md.push_str("- Prometheus shows no alert pending or firing in the window.\n"),
        Err(e) => {
            let _ = writeln!(md, "- Prometheus's ALERTS could not be read: {}", cell(e));
        }
    }
    let _ = writeln!(
        md,
        "- {} outbox notification(s) overlap the window (alerts.json).\n",
        g.alert_lines.len()
    );

    md.push_str("## Requests\n\n");
    if rows.is_empty() {
        md.push_str("None.\n\n");
    } else {
        md.push_str(
            "| First record | request_id | trace_id | Method | Route | Status | ms | Errors |\n",
        );
        md.push_str("|---|---|---|---|---|---|---|---|\n");
        for r in rows.iter().take(MAX_ROWS) {
            let o = |v: &Option<String>| v.as_deref().map(cell).unwrap_or_default();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r.first.map(ts).unwrap_or_default(),
                cell(&r.request_id),
                o(&r.trace_id),
                o(&r.method),
                o(&r.route),
                o(&r.status),
                o(&r.duration_ms),
                r.errors
            );
        }
        if rows.len() > MAX_ROWS {
            let _ = writeln!(
                md,
                "\n… and {} more requests (all in logs.ndjson).",
                rows.len() - MAX_ROWS
            );
        }
        md.push('\n');
    }

    md.push_str("## First error\n\n");
    match first_error(&g.logs, &g.spans) {
        None => md.push_str("No error record or failed span in the bundle.\n\n"),
        Some(d) => {
            let _ = writeln!(md, "- At: {}", d.at.map(ts).unwrap_or_default());
            for (label, name) in [
                ("request_id", "request_id"),
                ("trace_id", "trace.id"),
                ("Span", "name"),
                ("Message", "message"),
                ("Error type", "error.type"),
                ("Error message", "error.message"),
                ("Status message", "status.message"),
            ] {
                if let Some(v) = field(d, name) {
                    let _ = writeln!(md, "- {label}: {}", code(&v));
                }
            }
            match field(d, "error.stack_trace") {
                Some(trace) => {
                    let fence = "`".repeat((longest_run(&trace, '`') + 1).max(3));
                    let _ = writeln!(
                        md,
                        "\nStack trace:\n\n{fence}text\n{}\n{fence}\n",
                        trace.trim_end()
                    );
                }
                None => md.push_str("- No stack trace recorded.\n\n"),
            }
        }
    }

    md.push_str("## Links\n\n");
    // A request's window can be one instant: the log links get a minute either side.
    let (lf, lt) = (g.from - LINK_PAD, g.to + LINK_PAD);
    let _ = writeln!(
        md,
        "- Dashboard: [{DASHBOARD_UID}](<{}>)",
        grafana_link(input.grafana, g.route.as_deref(), g.from, g.to)
    );
    let first_ids: Vec<&String> = g.request_ids.iter().take(5).collect();
    for id in &first_ids {
        let _ = write!(
            md,
            "- Logs of {}: [Kibana](<{}>)",
            code(id),
            kibana_link(input.kibana, "request_id", id, lf, lt)
        );
        // The command is for copy and paste: only ids the service itself makes
        // (no shell metacharacters) get one.
        if shell_safe(id) {
            let _ = write!(
                md,
                ", or `{}`",
                crate::relay::links::logs_command(id, lf, lt)
            );
        }
        md.push('\n');
    }
    if let Some(r) = &g.route {
        let _ = writeln!(
            md,
            "- Logs of the route: [Kibana](<{}>)",
            kibana_link(input.kibana, "http.route", r, lf, lt)
        );
    }
    md.push_str("\n## Files\n\n");
    for f in &input.files {
        let _ = writeln!(md, "- `{f}`");
    }
    md.push_str(
        "- `report.md` (this file), `manifest.json` (each file's SHA-256, size and query)\n",
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeSet;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn doc(id: &str, t: &str, source: serde_json::Value) -> Doc {
        let mut source = source;
        source["@timestamp"] = json!(t);
        Doc {
            index: "logs-x".into(),
            id: id.into(),
            at: Some(at(t)),
            source,
        }
    }

    fn gathered() -> Gathered {
        let logs = vec![
            doc(
                "1",
                "2026-12-01T10:00:00Z",
                json!({"request_id": "r1", "trace.id": "t1", "log.level": "INFO", "message": "start"}),
            ),
            doc(
                "2",
                "2026-12-01T10:00:01Z",
                json!({"request_id": "r1", "log.level": "ERROR", "message": "db | failed", "error.type": "DbError", "error.stack_trace": "at db::query\nat handler ```x```"}),
            ),
            doc(
                "3",
                "2026-12-01T10:00:02Z",
                json!({"request_id": "r1", "http.route": "/todos/{id}", "http.request.method": "GET", "http.response.status_code": 500, "duration_ms": 12.5}),
            ),
            doc(
                "4",
                "2026-12-01T10:00:03Z",
                json!({"request_id": "r2", "http.route": "/todos/{id}", "http.response.status_code": 200}),
            ),
        ];
        Gathered {
            route: Some("/todos/{id}".into()),
            from: at("2026-12-01T10:00:00Z"),
            to: at("2026-12-01T10:00:03Z"),
            logs,
            spans: vec![doc(
                "s",
                "2026-12-01T10:00:00Z",
                json!({"status.code": "Error", "name": "GET /todos/{id}"}),
            )],
            request_ids: BTreeSet::from(["r1".to_owned(), "r2".to_owned()]),
            trace_ids: BTreeSet::from(["t1".to_owned()]),
            alert_lines: vec![],
            logs_query: json!({}),
            spans_query: json!({}),
        }
    }

    #[test]
    fn requests_take_their_status_from_the_access_log_and_count_errors() {
        let g = gathered();
        let rows = requests(&g.logs);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].request_id, "r1");
        assert_eq!(rows[0].trace_id.as_deref(), Some("t1"));
        assert_eq!(rows[0].status.as_deref(), Some("500"));
        assert_eq!(rows[0].method.as_deref(), Some("GET"));
        assert_eq!(rows[0].duration_ms.as_deref(), Some("12.5"));
        assert_eq!(rows[0].errors, 1);
        assert_eq!(rows[1].status.as_deref(), Some("200"));
        assert_eq!(
            first_error(&g.logs, &g.spans).map(|d| d.id.as_str()),
            Some("2")
        );
        assert_eq!(first_error(&[], &g.spans).map(|d| d.id.as_str()), Some("s"));
        assert!(first_error(&g.logs[2..], &[]).is_none());
    }

    #[test]
    fn the_report_names_the_requests_the_first_error_with_its_trace_and_the_links() {
        let g = gathered();
        let grafana = Url::parse("http://127.0.0.1:3000").expect("url");
        let kibana = Url::parse("http://127.0.0.1:5601").expect("url");
        let alerts = Ok(vec![Seen {
            alertname: "ApiHighErrorRate".into(),
            state: "firing".into(),
            route: Some("/todos/{id}".into()),
            first: 1_796_119_200.0,
            last: 1_796_119_260.0,
        }]);
        let md = render(&ReportInput {
            title: "request_id r1".into(),
            exported_at: at("2026-12-01T11:00:00Z"),
            operator: "alice",
            role: "oncall",
            gathered: &g,
            peaks: vec![
                ("5xx share".into(), Ok(Some("50%".into()))),
                ("p99".into(), Err("connection refused".into())),
            ],
            alerts: &alerts,
            grafana: &grafana,
            kibana: &kibana,
            files: vec!["logs.ndjson".into()],
        });
        assert!(md.starts_with("# Incident: request_id r1\n"), "{md}");
        assert!(md.contains("by `alice` (role oncall)"));
        assert!(
            md.contains("4 log records (1 errors), 1 spans, 2 requests, 1 traces"),
            "{md}"
        );
        assert!(md.contains("1 × 200, 1 × 500"), "{md}");
        assert!(md.contains("Peak 5xx share in the window: 50%"));
        assert!(
            md.contains(
                "- p99: Prometheus did not answer\n- Prometheus's error: connection refused\n"
            ),
            "{md}"
        );
        assert!(
            md.contains("`ApiHighErrorRate` (firing) on `/todos/{id}`: 2026-12-01T10:00:00.000Z"),
            "{md}"
        );
        assert!(
            md.contains(
                "| 2026-12-01T10:00:00.000Z | r1 | t1 | GET | /todos/{id} | 500 | 12.5 | 1 |"
            ),
            "{md}"
        );
        assert!(md.contains("- Message: `db | failed`"), "{md}");
        assert!(md.contains("- Error type: `DbError`"));
        assert!(
            md.contains("````text\nat db::query\nat handler ```x```\n````"),
            "{md}"
        );
        assert!(md.contains("(<http://127.0.0.1:3000/d/alertingscout-api?from=1796117400000&to=1796121003000&var-route=%2Ftodos%2F%7Bid%7D"), "{md}");
        assert!(md.contains("oncall logs --request-id r1 --from 2026-12-01T09:59:00.000Z --to 2026-12-01T10:01:03.000Z"));
        assert!(
            md.contains(
                "http://127.0.0.1:5601/app/discover#/?_g=(time:(from:'2026-12-01T09:59:00.000Z'"
            ),
            "{md}"
        );
        assert!(md.contains("query:'request_id%3A%22r1%22'"), "{md}");
    }

    #[test]
    fn values_cannot_break_out_of_code_spans_or_cells() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("line\nbreak"), "`line break`");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert!(shell_safe("0193a1b2-7c3d.x_y"));
        assert!(!shell_safe("a;rm -rf"));
        assert!(!shell_safe(""));
    }
}
