//! A series' name from a target's `legendFormat`, as Grafana writes it:
//! `{{label}}` replaced by the series' label (empty when it has none); no
//! format, `__auto` or a format that comes out blank: the series' own name,
//! `metric{label="value", ...}`.

use crate::prometheus::Labels;

pub fn series_name(legend_format: Option<&str>, labels: &Labels, ref_id: &str) -> String {
    let format = legend_format.unwrap_or("").trim();
    if !format.is_empty() && format != "__auto" {
        let name = substitute_labels(format, labels);
        if !name.trim().is_empty() {
            return name;
        }
    }
    auto_name(labels, ref_id)
}

/// `{{ label }}` -> the label's value; text outside braces as is.
fn substitute_labels(format: &str, labels: &Labels) -> String {
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        let label = rest[open + 2..open + 2 + close].trim();
        out.push_str(labels.get(label).map(String::as_str).unwrap_or(""));
        rest = &rest[open + 2 + close + 2..];
    }
    out.push_str(rest);
    out
}

/// `metric{a="1", b="2"}`; a result without labels is named after its query.
fn auto_name(labels: &Labels, ref_id: &str) -> String {
    let metric = labels.get("__name__").map(String::as_str).unwrap_or("");
    let pairs: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    match (metric.is_empty(), pairs.is_empty()) {
        (true, true) => ref_id.to_owned(),
        (false, true) => metric.to_owned(),
        _ => format!("{metric}{{{}}}", pairs.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn labels_are_substituted_with_or_without_spaces() {
        let l = labels(&[("http_route", "/projects"), ("http_request_method", "GET")]);
        assert_eq!(
            series_name(Some("{{http_request_method}} {{ http_route }}"), &l, "A"),
            "GET /projects"
        );
        assert_eq!(series_name(Some("p99"), &l, "A"), "p99");
        assert_eq!(
            series_name(Some("{{instance}} {{http_route}}"), &l, "A"),
            " /projects",
            "a missing label is empty, as in Grafana"
        );
        assert_eq!(series_name(Some("{{unclosed"), &l, "A"), "{{unclosed");
    }

    #[test]
    fn no_format_or_a_blank_result_names_the_series_itself() {
        let l = labels(&[("__name__", "up"), ("job", "alertingscout")]);
        assert_eq!(series_name(None, &l, "A"), "up{job=\"alertingscout\"}");
        assert_eq!(
            series_name(Some("__auto"), &l, "A"),
            "up{job=\"alertingscout\"}"
        );
        assert_eq!(
            series_name(Some("{{nope}}"), &l, "A"),
            "up{job=\"alertingscout\"}"
        );
        assert_eq!(series_name(Some(""), &labels(&[]), "B"), "B");
        assert_eq!(series_name(None, &labels(&[("a", "1")]), "B"), "{a=\"1\"}");
    }
}
