//! Grafana's template variable substitution: `$route`, `${route}`, `${route:regex}`,
//! `[[route]]`, the built-ins (`$__interval`, `$__rate_interval`, `$__range`,
//! `$__from`, `${__to:date:iso}`, `${__url_time_range}`) and a data link's row
//! (`${__data.fields.http_route}`), with Grafana's escaping for
//! Prometheus: a multi-value or All variable becomes a regex alternation (values
//! regex-escaped inside a PromQL string), or its `allValue` as written.
//!
//! Unlike Grafana, an unknown variable is an error rather than left as typed:
//! the dashboards are provisioned from this repository, so a typo is a bug.
//! `$1`-style references (label_replace) are not variables and stay as they are.

use std::collections::BTreeMap;

use chrono::SecondsFormat;

use super::model::Variable;
use super::range::{promql_duration, Intervals, TimeRange};

/// What a variable is set to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Grafana's "All" (`$__all`).
    All,
    Values(Vec<String>),
}

/// A variable with its value, and the options "All" stands for.
#[derive(Debug, Clone)]
pub struct Binding {
    pub name: String,
    pub multi: bool,
    pub include_all: bool,
    pub all_value: Option<String>,
    pub selection: Selection,
    pub options: Vec<String>,
}

impl Binding {
    /// The concrete values: the options when All is selected.
    pub fn values(&self) -> &[String] {
        match &self.selection {
            Selection::All => &self.options,
            Selection::Values(values) => values,
        }
    }

    /// `allValue` applies only when All is selected.
    fn all_value(&self) -> Option<&str> {
        match self.selection {
            Selection::All => self.all_value.as_deref(),
            Selection::Values(_) => None,
        }
    }
}

/// How a value is written into the text (`${var:format}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Grafana's Prometheus datasource interpolation (the default in queries).
    Prometheus,
    Raw,
    Regex,
    Pipe,
    Csv,
    /// Elasticsearch query strings.
    Lucene,
    PercentEncode,
    /// `var-name=value` (links).
    QueryParam,
    /// What a person reads: `All`, or the values joined with ` + ` (link titles).
    Text,
}

impl Format {
    fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "raw" => Format::Raw,
            "regex" => Format::Regex,
            "pipe" => Format::Pipe,
            "csv" => Format::Csv,
            "lucene" => Format::Lucene,
            "percentencode" => Format::PercentEncode,
            "queryparam" => Format::QueryParam,
            "text" => Format::Text,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstitutionError {
    #[error("unknown variable ${name}")]
    Unknown { name: String },
    #[error("variable ${name} has no value (no options were found for it)")]
    NoValue { name: String },
    #[error("unknown format {format:?} in ${{{name}:{format}}}")]
    UnknownFormat { name: String, format: String },
}

/// Everything a dashboard's text can refer to: its variables' values and the time range.
#[derive(Debug, Clone)]
pub struct Scope {
    bindings: Vec<Binding>,
    range: TimeRange,
    intervals: Intervals,
    /// One result row's labels, for data links (`${__data.fields.x}`, `${__field.labels.x}`).
    row: BTreeMap<String, String>,
}

impl Scope {
    pub fn new(range: TimeRange, intervals: Intervals) -> Scope {
        Scope {
            bindings: Vec::new(),
            range,
            intervals,
            row: BTreeMap::new(),
        }
    }

    /// This scope plus one result row's fields, for a data link of that row.
    pub fn with_row(&self, row: BTreeMap<String, String>) -> Scope {
        Scope {
            row,
            ..self.clone()
        }
    }

    /// Sets `variable` (a later binding of the same name replaces the earlier).
    pub fn bind(&mut self, variable: &Variable, selection: Selection, options: Vec<String>) {
        self.bindings.retain(|b| b.name != variable.name);
        self.bindings.push(Binding {
            name: variable.name.clone(),
            multi: variable.multi,
            include_all: variable.include_all,
            all_value: variable.all_value.clone().filter(|v| !v.is_empty()),
            selection,
            options,
        });
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    pub fn range(&self) -> &TimeRange {
        &self.range
    }

    pub fn intervals(&self) -> &Intervals {
        &self.intervals
    }

    /// A PromQL query with every reference replaced (Grafana's Prometheus rules).
    pub fn interpolate(&self, text: &str) -> Result<String, SubstitutionError> {
        self.interpolate_as(text, Format::Prometheus)
    }

    /// `text` with references written in `default` unless they name a format.
    pub fn interpolate_as(&self, text: &str, default: Format) -> Result<String, SubstitutionError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = 0;
        for reference in references(text) {
            out.push_str(&text[rest..reference.start]);
            out.push_str(&self.resolve(&reference, default)?);
            rest = reference.end;
        }
        out.push_str(&text[rest..]);
        Ok(out)
    }

    fn resolve(&self, reference: &Reference, default: Format) -> Result<String, SubstitutionError> {
        let name = reference.name.as_str();
        let unknown_format = |format: &str| SubstitutionError::UnknownFormat {
            name: name.to_owned(),
            format: format.to_owned(),
        };
        if name == "__from" || name == "__to" {
            let at = if name == "__from" {
                self.range.from
            } else {
                self.range.to
            };
            return match reference.format.as_deref() {
                None => Ok(at.timestamp_millis().to_string()),
                Some("date" | "date:iso") => Ok(at.to_rfc3339_opts(SecondsFormat::Millis, true)),
                Some("date:seconds") => Ok(at.timestamp().to_string()),
                Some(other) => Err(unknown_format(other)),
            };
        }
        let format = match reference.format.as_deref() {
            None => default,
            Some(f) => Format::parse(f).ok_or_else(|| unknown_format(f))?,
        };
        if let Some(field) = &reference.field {
            // `__data.fields.x` (tables) and `__field.labels.x` (series) name a
            // label of the row the link belongs to.
            let label = match name {
                "__data" => field.strip_prefix("fields."),
                "__field" => field.strip_prefix("labels."),
                _ => None,
            };
            let value =
                label
                    .and_then(|l| self.row.get(l))
                    .ok_or_else(|| SubstitutionError::Unknown {
                        name: format!("{name}.{field}"),
                    })?;
            return Ok(match format {
                Format::PercentEncode => percent_encode(value),
                Format::Lucene => lucene_escape(value),
                Format::Regex => regex_escape(value),
                _ => value.clone(),
            });
        }
        self.value_of(name, format)
    }

    fn value_of(&self, name: &str, format: Format) -> Result<String, SubstitutionError> {
        if let Some(builtin) = self.builtin(name) {
            return Ok(builtin);
        }
        let binding = self
            .bindings
            .iter()
            .find(|b| b.name == name)
            .ok_or_else(|| SubstitutionError::Unknown {
                name: name.to_owned(),
            })?;
        if format == Format::Text && binding.selection == Selection::All {
            return Ok("All".to_owned());
        }
        if let Some(all) = binding.all_value() {
            return Ok(match format {
                Format::QueryParam => query_param(name, "$__all"),
                _ => all.to_owned(),
            });
        }
        let values = binding.values();
        if values.is_empty() {
            return Err(SubstitutionError::NoValue {
                name: name.to_owned(),
            });
        }
        Ok(match format {
            Format::Prometheus if !binding.multi && !binding.include_all => {
                prometheus_string_escape(&values[0])
            }
            Format::Prometheus => alternation(values.iter().map(|v| prometheus_regex_escape(v))),
            Format::Regex => alternation(values.iter().map(|v| regex_escape(v))),
            Format::Raw | Format::Csv => values.join(","),
            Format::Pipe => values.join("|"),
            Format::Text => values.join(" + "),
            Format::Lucene if values.len() == 1 => lucene_escape(&values[0]),
            Format::Lucene => {
                let quoted: Vec<String> = values
                    .iter()
                    .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                    .collect();
                format!("({})", quoted.join(" OR "))
            }
            Format::PercentEncode => percent_encode(&values.join(",")),
            Format::QueryParam => values
                .iter()
                .map(|v| query_param(name, v))
                .collect::<Vec<_>>()
                .join("&"),
        })
    }

    fn builtin(&self, name: &str) -> Option<String> {
        let from = self.range.from.timestamp_millis();
        let to = self.range.to.timestamp_millis();
        let span = self.range.span();
        Some(match name {
            "__interval" => promql_duration(self.intervals.interval),
            "__interval_ms" => self.intervals.interval.as_millis().to_string(),
            "__rate_interval" => promql_duration(self.intervals.rate_interval),
            "__rate_interval_ms" => self.intervals.rate_interval.as_millis().to_string(),
            // Grafana writes the range in whole seconds.
            "__range" => format!("{}s", span.as_secs()),
            "__range_s" => span.as_secs().to_string(),
            "__range_ms" => span.as_millis().to_string(),
            "__url_time_range" => format!("from={from}&to={to}"),
            "__all_variables" => self
                .bindings
                .iter()
                .map(|b| match b.selection {
                    Selection::All => query_param(&b.name, "$__all"),
                    Selection::Values(ref values) => values
                        .iter()
                        .map(|v| query_param(&b.name, v))
                        .collect::<Vec<_>>()
                        .join("&"),
                })
                .collect::<Vec<_>>()
                .join("&"),
            _ => return None,
        })
    }
}

/// One `$name` / `${name:format}` / `[[name]]` in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub start: usize,
    pub end: usize,
    pub name: String,
    /// `fields.http_route` in `${__data.fields.http_route}`.
    pub field: Option<String>,
    pub format: Option<String>,
}

/// Every variable reference in `text`, in order (built-ins included).
pub fn references(text: &str) -> Vec<Reference> {
    let bytes = text.as_bytes();
    let word = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count()
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let reference = match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => text[i + 2..].find('}').and_then(|close| {
                let inner = &text[i + 2..i + 2 + close];
                let n = word(i + 2);
                // `${name}`, `${name:format}` (the format may hold colons:
                // `date:iso`), `${name.field.path}` (data links' fields).
                let (path, format) = match inner[n..].split_once(':') {
                    Some((path, format)) => (path, Some(format.to_owned())),
                    None => (&inner[n..], None),
                };
                let field = path.strip_prefix('.').map(str::to_owned);
                let valid =
                    n > 0 && (path.is_empty() || field.as_ref().is_some_and(|f| !f.is_empty()));
                valid.then(|| Reference {
                    start: i,
                    end: i + 3 + close,
                    name: inner[..n].to_owned(),
                    field,
                    format,
                })
            }),
            b'$' => {
                let n = word(i + 1);
                // `$1` is a label_replace back-reference, not a variable.
                let is_name = n > 0 && !bytes[i + 1].is_ascii_digit();
                is_name.then(|| Reference {
                    start: i,
                    end: i + 1 + n,
                    name: text[i + 1..i + 1 + n].to_owned(),
                    field: None,
                    format: None,
                })
            }
            b'[' if bytes.get(i + 1) == Some(&b'[') => text[i + 2..].find("]]").and_then(|close| {
                let inner = &text[i + 2..i + 2 + close];
                let (name, format) = match inner.split_once(':') {
                    Some((name, format)) => (name, Some(format.to_owned())),
                    None => (inner, None),
                };
                let valid = !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                valid.then(|| Reference {
                    start: i,
                    end: i + 4 + close,
                    name: name.to_owned(),
                    field: None,
                    format,
                })
            }),
            _ => None,
        };
        match reference {
            Some(r) => {
                i = r.end;
                found.push(r);
            }
            None => i += 1,
        }
    }
    found
}

fn alternation(values: impl Iterator<Item = String>) -> String {
    let values: Vec<String> = values.collect();
    if values.len() == 1 {
        values.into_iter().collect()
    } else {
        format!("({})", values.join("|"))
    }
}

/// A value inside a PromQL double-quoted string (Grafana with
/// prometheusSpecialCharsInLabelValues: backslash and double quote escaped).
pub fn prometheus_string_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A value as a literal inside a regex inside a PromQL string: the regex escape
/// is itself escaped for the string (`.` -> `\\.`), as Grafana does.
pub fn prometheus_regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\\\\\"),
            '"' => out.push_str("\\\\\\\""),
            c if is_regex_special(c) => {
                out.push_str("\\\\");
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A value as a literal inside a plain regex (`${var:regex}`).
pub fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 2);
    for c in value.chars() {
        if c == '\\' || c == '/' || is_regex_special(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn is_regex_special(c: char) -> bool {
    matches!(
        c,
        '$' | '^' | '*' | '{' | '}' | '[' | ']' | '\'' | '+' | '?' | '.' | '(' | ')' | '|'
    )
}

fn lucene_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 2);
    for c in value.chars() {
        if "+-=&|><!(){}[]^\"~*?:\\/ ".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn percent_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        // form encoding writes spaces as '+'; in a URL path or fragment that is a plus.
        .replace('+', "%20")
}

fn query_param(name: &str, value: &str) -> String {
    format!("var-{}={}", percent_encode(name), percent_encode(value))
}
