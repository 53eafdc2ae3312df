//! The samples of a Prometheus text exposition (and of OpenMetrics text, which only adds
//! exemplars and `# EOF`): metric name, labels and value of every sample line.
//!
//! One parser for the workspace (xtask's probes of the Collector's metrics, the load
//! tester's fidelity check and its end-to-end test), written here because the crates do
//! not fit: prometheus-parse 0.2.5 cuts a label set at its first `}` and splits it at
//! every `,`, so it silently drops every series of `http_route="/projects/{id}"` and
//! mangles values holding commas; openmetrics-parser is LGPL-3.0. HELP and TYPE lines
//! are not needed by any caller and are skipped with the other comments.

use std::collections::BTreeMap;

/// One sample line, e.g. `http_requests_total{method="GET",route="/x/{id}"} 7`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    /// In the order written; values unescaped (`\\`, `\"`, `\n`).
    pub labels: Vec<(&'a str, String)>,
    pub value: f64,
}

impl Sample<'_> {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// True when every `(name, value)` of `wanted` is one of the sample's labels.
    pub fn has_labels(&self, wanted: &[(&str, &str)]) -> bool {
        wanted.iter().all(|(n, v)| self.label(n) == Some(*v))
    }
}

/// Every sample of `text`. Comments, blank lines and lines that are not a well-formed
/// sample are skipped: a scrape is read for the series a caller names, and one odd line
/// must not hide the others.
pub fn samples(text: &str) -> impl Iterator<Item = Sample<'_>> {
    text.lines().filter_map(parse_line)
}

/// The sum over every series of `name` whose labels include all of `labels`: the value
/// a PromQL `sum(name{labels})` of this one scrape would give (0 when there is none).
pub fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text)
        .filter(|s| s.name == name && s.has_labels(labels))
        .map(|s| s.value)
        .sum()
}

/// PromQL's `sum by (labels) (name)` over this one scrape: the values of `name` summed
/// per combination of the `by` labels' values (series lacking one of them are left out).
pub fn sum_by(text: &str, name: &str, by: &[&str]) -> BTreeMap<Vec<String>, f64> {
    let mut out = BTreeMap::new();
    for sample in samples(text).filter(|s| s.name == name) {
        let key: Option<Vec<String>> = by
            .iter()
            .map(|l| sample.label(l).map(str::to_owned))
            .collect();
        if let Some(key) = key {
            *out.entry(key).or_insert(0.0) += sample.value;
        }
    }
    out
}

fn parse_line(line: &str) -> Option<Sample<'_>> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() {
        return None;
    }
    let mut rest = line[name_end..].trim_start();
    let mut labels = Vec::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = parse_labels(after_brace, &mut labels)?;
    }
    // The value, then an optional timestamp and (OpenMetrics) an exemplar: not needed.
    let value = parse_value(rest.split_whitespace().next()?)?;
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// Parses `a="x",b="y"}` into `out`; returns what follows the closing brace.
fn parse_labels<'a>(mut rest: &'a str, out: &mut Vec<(&'a str, String)>) -> Option<&'a str> {
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        if let Some(after) = rest.strip_prefix('}') {
            return Some(after);
        }
        let eq = rest.find('=')?;
        let name = rest[..eq].trim();
        let quoted = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let (value, after) = unquote(quoted)?;
        out.push((name, value));
        rest = after;
    }
}

/// The value up to the closing quote, unescaped, and what follows that quote.
fn unquote(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

/// Go's float syntax as Prometheus writes it: `+Inf`, `-Inf` and `NaN` included (Rust
/// parses those case-insensitively).
fn parse_value(token: &str) -> Option<f64> {
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP http_server_request_duration_seconds Duration of HTTP server requests.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{http_request_method="GET",http_route="/health",le="+Inf"} 3
http_server_request_duration_seconds_count{http_request_method="GET",http_route="/projects/{id}",scope="a, \"b\"}"} 5 1700000000
http_server_request_duration_seconds_count{http_request_method="GET",http_route="/projects/{id}"} 2 # {trace_id="ab"} 0.1 1.5
up 1

broken{a="unterminated} 1
"#;

    #[test]
    fn reads_labels_with_braces_commas_and_escapes() {
        let all: Vec<Sample> = samples(TEXT).collect();
        assert_eq!(all.len(), 4, "{all:?}");
        assert_eq!(all[1].label("http_route"), Some("/projects/{id}"));
        assert_eq!(all[1].label("scope"), Some("a, \"b\"}"));
        assert_eq!(all[1].value, 5.0);
        assert_eq!(all[0].label("le"), Some("+Inf"));
        assert_eq!(
            all[3],
            Sample {
                name: "up",
                labels: vec![],
                value: 1.0
            }
        );
    }

    #[test]
    fn exemplars_and_timestamps_are_not_values() {
        assert_eq!(
            sum(TEXT, "http_server_request_duration_seconds_count", &[]),
            7.0
        );
    }

    #[test]
    fn sums_only_the_series_that_match() {
        let text = "x_total{a=\"1\",b=\"2\"} 3\nx_total{a=\"2\"} 4\nx_total_other 9\nx_total 5\n";
        assert_eq!(sum(text, "x_total", &[]), 12.0);
        assert_eq!(sum(text, "x_total", &[("a", "1")]), 3.0);
        assert_eq!(sum(text, "x_total", &[("a", "1"), ("b", "3")]), 0.0);
        assert_eq!(sum(text, "nothing", &[]), 0.0);
    }

    #[test]
    fn sums_by_labels() {
        let by = sum_by(
            TEXT,
            "http_server_request_duration_seconds_count",
            &["http_request_method", "http_route"],
        );
        assert_eq!(by.len(), 1);
        assert_eq!(
            by[&vec!["GET".to_owned(), "/projects/{id}".to_owned()]],
            7.0
        );
        assert!(sum_by(TEXT, "up", &["job"]).is_empty());
    }

    #[test]
    fn special_values() {
        let text = "a +Inf\nb -Inf\nc NaN\nd 1e3\n";
        let v: Vec<f64> = samples(text).map(|s| s.value).collect();
        assert_eq!(v[0], f64::INFINITY);
        assert_eq!(v[1], f64::NEG_INFINITY);
        assert!(v[2].is_nan());
        assert_eq!(v[3], 1000.0);
    }
}
