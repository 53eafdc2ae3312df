//! The log API's filters: parsed from the query string, checked (a bad one is
//! named in the 400), and turned into an Elasticsearch bool query.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The filters as they arrive (all optional text).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawFilters {
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub since: Option<String>,
    pub level: Option<String>,
    pub route: Option<String>,
    pub status: Option<String>,
    pub project_id: Option<String>,
    /// The pseudonym (`u_` + 32 hex), never the raw id: the client hashes it.
    pub user_id: Option<String>,
    pub limit: Option<String>,
}

/// A filter that does not parse: the field and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterError {
    pub field: &'static str,
    pub error: String,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.error)
    }
}

/// Status as one code or a class (`5xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Code(u16),
    Class(u16),
}

/// The most records one export may return.
pub const MAX_LIMIT: u64 = 5_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Filters {
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub level: Option<String>,
    pub route: Option<String>,
    pub status: Option<Status>,
    pub project_id: Option<String>,
    pub user_id: Option<String>,
    pub limit: Option<u64>,
}

pub(crate) fn err(field: &'static str, error: impl Into<String>) -> FilterError {
    FilterError {
        field,
        error: error.into(),
    }
}

pub(crate) fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// A plain identifier: printable ASCII without spaces, at most 200 bytes.
fn identifier(field: &'static str, v: &Option<String>) -> Result<Option<String>, FilterError> {
    non_empty(v).map(|t| plain_identifier(field, t)).transpose()
}

/// `text` if it is a plain identifier (also the incident selector's ids).
pub(crate) fn plain_identifier(field: &'static str, text: &str) -> Result<String, FilterError> {
    if text.len() <= 200 && text.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(text.to_owned())
    } else {
        Err(err(
            field,
            "expected printable ASCII without spaces, at most 200 characters",
        ))
    }
}

pub(crate) fn time(
    field: &'static str,
    v: &Option<String>,
) -> Result<Option<DateTime<Utc>>, FilterError> {
    non_empty(v)
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|e| {
                    err(
                        field,
                        format!("not an RFC 3339 time ({e}), e.g. 2026-12-01T18:00:00Z"),
                    )
                })
        })
        .transpose()
}

impl RawFilters {
    /// Checks every filter against `now` (for `since`).
    pub fn parse(&self, now: DateTime<Utc>) -> Result<Filters, FilterError> {
        let mut from = time("from", &self.from)?;
        let to = time("to", &self.to)?;
        if let Some(since) = non_empty(&self.since) {
            if from.is_some() {
                return Err(err("since", "give --since or --from, not both"));
            }
            let d = crate::snapshot::parse_since(since).map_err(|e| err("since", e))?;
            let d = chrono::Duration::from_std(d).map_err(|e| err("since", e.to_string()))?;
            from = Some(now - d);
        }
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(err("to", "is before from"));
            }
        }
        let level = match non_empty(&self.level) {
            None => None,
            Some(l) => {
                let up = l.to_ascii_uppercase();
                match up.as_str() {
                    "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR" => Some(up),
                    _ => return Err(err("level", "one of trace, debug, info, warn, error")),
                }
            }
        };
        let route = match non_empty(&self.route) {
            Some(r) if r.starts_with('/') && r.len() <= 300 && !r.chars().any(char::is_control) => {
                Some(r.to_owned())
            }
            Some(_) => return Err(err("route", "a route template starting with /")),
            None => None,
        };
        let status = match non_empty(&self.status) {
            None => None,
            Some(s) => Some(
                parse_status(s)
                    .ok_or_else(|| err("status", "a code 100-599 or a class 1xx-5xx"))?,
            ),
        };
        let project_id = match non_empty(&self.project_id) {
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 19 => Some(p.to_owned()),
            Some(_) => return Err(err("project_id", "a whole number")),
            None => None,
        };
        let user_id =
            match non_empty(&self.user_id) {
                Some(u) if is_pseudonym(u) => Some(u.to_owned()),
                Some(_) => return Err(err(
                    "user_id",
                    "a pseudonym (u_ and 32 hex digits); `oncall logs --user-id` hashes the raw id",
                )),
                None => None,
            };
        let limit = match non_empty(&self.limit) {
            None => None,
            Some(l) => match l.parse::<u64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Some(n),
                _ => {
                    return Err(err(
                        "limit",
                        format!("a whole number from 1 to {MAX_LIMIT}"),
                    ))
                }
            },
        };
        Ok(Filters {
            request_id: identifier("request_id", &self.request_id)?,
            trace_id: identifier("trace_id", &self.trace_id)?,
            from,
            to,
            level,
            route,
            status,
            project_id,
            user_id,
            limit,
        })
    }
}

pub use pseudonym::is_pseudonym;

fn parse_status(text: &str) -> Option<Status> {
    let lower = text.to_ascii_lowercase();
    if let Some(class) = lower.strip_suffix("xx") {
        let c: u16 = class.parse().ok()?;
        return (1..=5).contains(&c).then_some(Status::Class(c));
    }
    let code: u16 = lower.parse().ok()?;
    (100..=599).contains(&code).then_some(Status::Code(code))
}

impl Filters {
    /// The Elasticsearch query (a bool filter; no filter at all matches everything).
    pub fn to_query(&self) -> Value {
        let mut filter = Vec::new();
        let term = |field: &str, value: &str| json!({ "term": { field: value } });
        if let Some(v) = &self.request_id {
            filter.push(term("request_id", v));
        }
        if let Some(v) = &self.trace_id {
            filter.push(term("trace.id", v));
        }
        if let Some(v) = &self.level {
            filter.push(term("log.level", v));
        }
        if let Some(v) = &self.route {
            filter.push(term("http.route", v));
        }
        if let Some(v) = &self.project_id {
            filter.push(term("project.id", v));
        }
        if let Some(v) = &self.user_id {
            filter.push(term("user.id", v));
        }
        match self.status {
            Some(Status::Code(c)) => filter.push(json!({ "term": { "http.response.status_code": c } })),
            Some(Status::Class(c)) => filter.push(json!({ "range": { "http.response.status_code": { "gte": c * 100, "lt": (c + 1) * 100 } } })),
            None => {}
        }
        if self.from.is_some() || self.to.is_some() {
            let mut range = serde_json::Map::new();
            if let Some(f) = self.from {
                range.insert(
                    "gte".into(),
                    json!(f.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)),
                );
            }
            if let Some(t) = self.to {
                range.insert(
                    "lte".into(),
                    json!(t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)),
                );
            }
            filter.push(json!({ "range": { "@timestamp": range } }));
        }
        json!({ "bool": { "filter": filter } })
    }

    /// The filters as recorded in the audit trail (resolved times, no nulls).
    pub fn to_audit(&self) -> Value {
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_owned(), v);
            }
        };
        put("request_id", self.request_id.clone().map(Value::from));
        put("trace_id", self.trace_id.clone().map(Value::from));
        put("from", self.from.map(|t| Value::from(t.to_rfc3339())));
        put("to", self.to.map(|t| Value::from(t.to_rfc3339())));
        put("level", self.level.clone().map(Value::from));
        put("route", self.route.clone().map(Value::from));
        put(
            "status",
            self.status.map(|s| match s {
                Status::Code(c) => Value::from(c.to_string()),
                Status::Class(c) => Value::from(format!("{c}xx")),
            }),
        );
        put("project_id", self.project_id.clone().map(Value::from));
        put("user_id", self.user_id.clone().map(Value::from));
        put("limit", self.limit.map(Value::from));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .expect("time")
    }

    #[test]
    fn filters_parse_into_a_bool_query() {
        let raw = RawFilters {
            request_id: Some("req-1".into()),
            since: Some("2h".into()),
            level: Some("error".into()),
            route: Some("/projects/{project_id}".into()),
            status: Some("5xx".into()),
            project_id: Some("42".into()),
            user_id: Some(format!("u_{}", "ab".repeat(16))),
            ..Default::default()
        };
        let f = raw.parse(now()).expect("valid");
        assert_eq!(f.level.as_deref(), Some("ERROR"));
        assert_eq!(f.status, Some(Status::Class(5)));
        assert_eq!(f.from, Some(now() - chrono::Duration::hours(2)));
        let q = f.to_query().to_string();
        for part in [
            r#"{"term":{"request_id":"req-1"}}"#,
            r#"{"term":{"log.level":"ERROR"}}"#,
            r#""http.response.status_code":{"gte":500,"lt":600}"#,
            r#"{"term":{"project.id":"42"}}"#,
            r#""gte":"2026-12-01T10:00:00.000000000Z""#,
        ] {
            assert!(q.contains(part), "{part} in {q}");
        }
        assert_eq!(f.to_audit()["status"], "5xx");
        assert_eq!(
            RawFilters::default().parse(now()).expect("none").to_query(),
            json!({"bool": {"filter": []}})
        );
    }

    #[test]
    fn a_bad_filter_is_named() {
        let field = |raw: RawFilters| raw.parse(now()).expect_err("invalid").field;
        assert_eq!(
            field(RawFilters {
                level: Some("loud".into()),
                ..Default::default()
            }),
            "level"
        );
        assert_eq!(
            field(RawFilters {
                status: Some("600".into()),
                ..Default::default()
            }),
            "status"
        );
        assert_eq!(
            field(RawFilters {
                status: Some("9xx".into()),
                ..Default::default()
            }),
            "status"
        );
        assert_eq!(
            field(RawFilters {
                from: Some("yesterday".into()),
                ..Default::default()
            }),
            "from"
        );
        assert_eq!(
            field(RawFilters {
                since: Some("30".into()),
                ..Default::default()
            }),
            "since"
        );
        assert_eq!(
            field(RawFilters {
                since: Some("1h".into()),
                from: Some("2026-12-01T00:00:00Z".into()),
                ..Default::default()
            }),
            "since"
        );
        assert_eq!(
            field(RawFilters {
                from: Some("2026-12-02T00:00:00Z".into()),
                to: Some("2026-12-01T00:00:00Z".into()),
                ..Default::default()
            }),
            "to"
        );
        assert_eq!(
            field(RawFilters {
                route: Some("projects".into()),
                ..Default::default()
            }),
            "route"
        );
        assert_eq!(
            field(RawFilters {
                project_id: Some("4a".into()),
                ..Default::default()
            }),
            "project_id"
        );
        assert_eq!(
            field(RawFilters {
                user_id: Some("alice".into()),
                ..Default::default()
            }),
            "user_id"
        );
        assert_eq!(
            field(RawFilters {
                request_id: Some("a b".into()),
                ..Default::default()
            }),
            "request_id"
        );
        assert_eq!(
            field(RawFilters {
                limit: Some("0".into()),
                ..Default::default()
            }),
            "limit"
        );
    }
}
