//! The snapshot page: one self-contained HTML file (inline CSS, inline SVG, no
//! script, nothing fetched), every text escaped on its way in.

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, Utc};

use super::panel::{Body, ResolvedLink, View};
use crate::dashboards::TimeRange;

/// What the header says about the snapshot.
pub struct Header {
    pub title: String,
    pub uid: String,
    pub range: TimeRange,
    pub since: String,
    pub generated: DateTime<Utc>,
    pub prometheus: String,
    pub prometheus_version: String,
    /// (name, value as shown)
    pub variables: Vec<(String, String)>,
    /// Alert annotations firing in the range, one line each.
    pub alerts: Vec<String>,
}

/// A row of the dashboard: its title and panels.
pub struct Row {
    pub title: Option<String>,
    pub panels: Vec<View>,
}

/// Text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{margin:0;font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1f2328;background:#f4f5f7}
header{background:#fff;border-bottom:1px solid #d8dbe0;padding:14px 24px}
h1{font-size:22px;margin:0 0 6px}
header dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;font-size:13px}
header dt{color:#5b6270}header dd{margin:0}
main{padding:8px 16px 24px;max-width:1400px}
h2{font-size:16px;margin:18px 4px 8px;color:#3d4451}
.grid{display:grid;grid-template-columns:repeat(24,1fr);gap:10px}
.panel{background:#fff;border:1px solid #d8dbe0;border-radius:4px;padding:8px 10px;min-width:0;overflow:hidden}
.panel h3{font-size:14px;margin:0 0 4px}
.desc{color:#5b6270;font-size:12px;margin:0 0 6px}
.panel svg{display:block;max-width:100%;height:auto}
.legend{list-style:none;margin:4px 0 0;padding:0;font-size:12px;display:flex;flex-wrap:wrap;gap:2px 12px}
.swatch{display:inline-block;width:14px;height:4px;margin-right:5px;vertical-align:middle;border-radius:1px}
.stat{display:flex;flex-wrap:wrap;gap:4px 22px;align-items:baseline}
.stat .value{font-size:34px;font-weight:600;color:#37872d}
.stat .name{font-size:12px;color:#5b6270;display:block}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e6e8eb;padding:4px 8px;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.cell-links a{font-size:11px;margin-left:8px}
.note{border-left:4px solid #8e95a2;background:#f1f2f4;padding:6px 10px;margin:6px 0;font-size:13px;overflow-wrap:anywhere}
.panel[data-status=error] .note{border-color:#c4162a;background:#fdecee}
.panel[data-status=no-data] .note{border-color:#e0b400;background:#fdf8e6}
.panel[data-status=not-rendered] .note{border-color:#5694f2;background:#eef4fe}
.links{font-size:12px;margin:6px 0 0}.links a{margin-right:12px}
details{font-size:11px;color:#5b6270;margin-top:4px}
details code{display:block;white-space:pre-wrap;overflow-wrap:anywhere;margin:2px 0}
.alerts{color:#c4162a}
pre.text{white-space:pre-wrap;margin:0}
";

pub fn page(header: &Header, rows: &[Row]) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let iso = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"oncall snapshot\">\
         <title>{title} — snapshot {generated}</title><style>{STYLE}</style></head><body>\
         <header><h1>{title}</h1><dl>\
         <dt>Time range</dt><dd>{from} → {to} (last {since})</dd>\
         <dt>Generated</dt><dd><time datetime=\"{generated_iso}\">{generated}</time></dd>\
         <dt>Prometheus</dt><dd>{prometheus} ({version})</dd>\
         <dt>Dashboard</dt><dd>uid {uid}</dd>",
        title = escape(&header.title),
        from = iso(header.range.from),
        to = iso(header.range.to),
        since = escape(&header.since),
        generated = iso(header.generated),
        generated_iso = header.generated.to_rfc3339_opts(SecondsFormat::Secs, true),
        prometheus = escape(&header.prometheus),
        version = escape(&header.prometheus_version),
        uid = escape(&header.uid),
    );
    if !header.variables.is_empty() {
        let vars: Vec<String> = header
            .variables
            .iter()
            .map(|(n, v)| format!("{} = {}", escape(n), escape(v)))
            .collect();
        let _ = write!(out, "<dt>Variables</dt><dd>{}</dd>", vars.join("; "));
    }
    if !header.alerts.is_empty() {
        let _ = write!(out, "<dt>Alerts firing</dt><dd class=\"alerts\">");
        for alert in &header.alerts {
            let _ = write!(out, "{}<br>", escape(alert));
        }
        out.push_str("</dd>");
    }
    out.push_str("</dl></header><main>");
    for row in rows {
        if let Some(title) = &row.title {
            let _ = write!(out, "<h2>{}</h2>", escape(title));
        }
        out.push_str("<div class=\"grid\">");
        for panel in &row.panels {
            panel_html(&mut out, panel);
        }
        out.push_str("</div>");
    }
    out.push_str("</main></body></html>\n");
    out
}

fn panel_html(out: &mut String, p: &View) {
    let _ = write!(
        out,
        "<section class=\"panel\" style=\"grid-column:span {width}\" data-panel-id=\"{id}\" \
         data-panel-type=\"{kind}\" data-status=\"{status}\"><h3>{title}</h3>",
        width = p.width,
        id = p.id,
        kind = escape(&p.kind),
        status = p.status.as_str(),
        title = escape(&p.title),
    );
    if let Some(description) = &p.description {
        let _ = write!(out, "<p class=\"desc\">{}</p>", escape(description));
    }
    for (i, note) in p.notes.iter().enumerate() {
        let _ = write!(out, "<div class=\"note\">{}", escape(note));
        if let (0, Some(see)) = (i, &p.see) {
            out.push(' ');
            links_html(out, std::slice::from_ref(see));
        }
        out.push_str("</div>");
    }
    match &p.body {
        // plotters writes the SVG and escapes the text it puts in it.
        Body::Chart { svg, legend } => {
            out.push_str(svg);
            out.push_str("<ul class=\"legend\">");
            for entry in legend {
                let _ = write!(
                    out,
                    "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
                    escape(&entry.color),
                    escape(&entry.name)
                );
            }
            out.push_str("</ul>");
        }
        Body::Stat(values) => {
            out.push_str("<div class=\"stat\">");
            for v in values {
                let _ = write!(
                    out,
                    "<div><span class=\"value\">{}</span><span class=\"name\">{}</span></div>",
                    escape(&v.text),
                    escape(&v.name)
                );
            }
            out.push_str("</div>");
        }
        Body::Table { headers, rows } => {
            out.push_str("<table><thead><tr>");
            for h in headers {
                let _ = write!(out, "<th>{}</th>", escape(h));
            }
            out.push_str("</tr></thead><tbody>");
            for row in rows {
                out.push_str("<tr>");
                for cell in row {
                    let class = if cell.numeric { " class=\"num\"" } else { "" };
                    let _ = write!(out, "<td{class}>{}", escape(&cell.text));
                    if !cell.links.is_empty() {
                        out.push_str("<span class=\"cell-links\">");
                        links_html(out, &cell.links);
                        out.push_str("</span>");
                    }
                    out.push_str("</td>");
                }
                out.push_str("</tr>");
            }
            out.push_str("</tbody></table>");
        }
        Body::Text(text) => {
            let _ = write!(out, "<pre class=\"text\">{}</pre>", escape(text));
        }
        Body::Nothing => {}
    }
    if !p.links.is_empty() {
        out.push_str("<p class=\"links\">");
        links_html(out, &p.links);
        out.push_str("</p>");
    }
    if !p.queries.is_empty() {
        out.push_str("<details><summary>queries</summary>");
        for (ref_id, query) in &p.queries {
            let _ = write!(out, "<code>{}: {}</code>", escape(ref_id), escape(query));
        }
        out.push_str("</details>");
    }
    out.push_str("</section>");
}

fn links_html(out: &mut String, links: &[ResolvedLink]) {
    for link in links {
        match &link.href {
            Ok(href) => {
                let _ = write!(
                    out,
                    "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
                    escape(href),
                    escape(&link.title)
                );
            }
            Err(why) => {
                let _ = write!(
                    out,
                    "<span title=\"{}\">{} (link unavailable)</span>",
                    escape(why),
                    escape(&link.title)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::panel::{Status, TableCell};

    #[test]
    fn escape_covers_content_and_attributes() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("/projects/{id}"), "/projects/{id}");
    }

    fn header() -> Header {
        let now = "2026-01-01T12:00:00Z".parse().expect("time");
        Header {
            title: "API <b>".to_owned(),
            uid: "u".to_owned(),
            range: TimeRange::last(std::time::Duration::from_secs(1800), now),
            since: "30m".to_owned(),
            generated: now,
            prometheus: "http://127.0.0.1:9090/".to_owned(),
            prometheus_version: "2.42.0".to_owned(),
            variables: vec![("route".to_owned(), "All".to_owned())],
            alerts: vec![],
        }
    }

    fn panel(status: Status, body: Body, notes: Vec<String>) -> View {
        View {
            id: 7,
            kind: "table".to_owned(),
            title: "Routes \"quoted\"".to_owned(),
            description: None,
            width: 12,
            status,
            body,
            notes,
            see: None,
            links: vec![ResolvedLink {
                title: "logs <of> route".to_owned(),
                href: Ok("http://k/?a=1&b=\"2\"".to_owned()),
            }],
            queries: vec![("A".to_owned(), r#"up{a="<x>"}"#.to_owned())],
        }
    }

    #[test]
    fn every_text_in_the_page_is_escaped() {
        let body = Body::Table {
            headers: vec!["<Route>".to_owned()],
            rows: vec![vec![TableCell {
                text: "<img src=x>".to_owned(),
                numeric: false,
                links: vec![],
            }]],
        };
        let html = page(
            &header(),
            &[Row {
                title: Some("Row & co".to_owned()),
                panels: vec![panel(
                    Status::Error,
                    body,
                    vec!["A: bad <query>".to_owned()],
                )],
            }],
        );
        for raw in [
            "<b>", "<Route>", "<img", "<of>", "<x>", "<query>", "\"2\"", "Row & co",
        ] {
            assert!(!html.contains(raw), "{raw} reached the page unescaped");
        }
        assert!(html.contains("&lt;img src=x&gt;"));
        assert!(html.contains("href=\"http://k/?a=1&amp;b=&quot;2&quot;\""));
        assert!(html.contains("data-status=\"error\""));
        assert!(html.contains("2026-01-01 11:30:00 UTC → 2026-01-01 12:00:00 UTC"));
    }

    #[test]
    fn the_page_is_self_contained() {
        let html = page(
            &header(),
            &[Row {
                title: None,
                panels: vec![panel(Status::Ok, Body::Text("hi".to_owned()), vec![])],
            }],
        );
        for external in ["<script", "<link", "src=", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
    }
}
