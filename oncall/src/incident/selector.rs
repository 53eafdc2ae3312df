//! What to export: one request, one trace, one alert of the outbox, or a route
//! over a window; checked here (a bad parameter is named in the 400).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

// The log API's field parsing: the same rules and messages for the same fields.
use crate::logs::query::{err, non_empty, plain_identifier as identifier, time, FilterError};

/// The widest route window one export may cover.
pub const MAX_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// The query string as it arrives (all optional text).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawSelector {
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
    pub alert_fingerprint: Option<String>,
    pub route: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    RequestId(String),
    TraceId(String),
    Alert(String),
    Route(String),
}

impl Selector {
    pub fn kind(&self) -> &'static str {
        match self {
            Selector::RequestId(_) => "request_id",
            Selector::TraceId(_) => "trace_id",
            Selector::Alert(_) => "alert_fingerprint",
            Selector::Route(_) => "route",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Selector::RequestId(v)
            | Selector::TraceId(v)
            | Selector::Alert(v)
            | Selector::Route(v) => v,
        }
    }
}

/// A checked export request: the selector and an optional bound on the window.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentQuery {
    pub selector: Selector,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl RawSelector {
    /// From a query string's pairs; an unknown or repeated parameter is named
    /// in the error (a typo must not widen or narrow an export silently).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Result<Self, FilterError> {
        let mut raw = RawSelector::default();
        for (key, value) in pairs {
            let (slot, field): (&mut Option<String>, &'static str) = match key.as_ref() {
                "request_id" => (&mut raw.request_id, "request_id"),
                "trace_id" => (&mut raw.trace_id, "trace_id"),
                "alert_fingerprint" => (&mut raw.alert_fingerprint, "alert_fingerprint"),
                "route" => (&mut raw.route, "route"),
                "from" => (&mut raw.from, "from"),
                "to" => (&mut raw.to, "to"),
                _ => {
                    return Err(FilterError {
                        field: "query",
                        error: format!(
                            "unknown parameter {:?} (request_id, trace_id, alert_fingerprint, route, from, to)",
                            key.chars().take(40).collect::<String>()
                        ),
                    })
                }
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(err(field, "given twice"));
            }
        }
        Ok(raw)
    }

    pub fn parse(&self) -> Result<IncidentQuery, FilterError> {
        let mut given = Vec::new();
        if let Some(v) = non_empty(&self.request_id) {
            given.push(Selector::RequestId(identifier("request_id", v)?));
        }
        if let Some(v) = non_empty(&self.trace_id) {
            given.push(Selector::TraceId(identifier("trace_id", v)?));
        }
        if let Some(v) = non_empty(&self.alert_fingerprint) {
            if v.is_empty() || v.len() > 64 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err(
                    "alert_fingerprint",
                    "the hex fingerprint of an outbox line",
                ));
            }
            given.push(Selector::Alert(v.to_ascii_lowercase()));
        }
        if let Some(r) = non_empty(&self.route) {
            if !(r.starts_with('/') && r.len() <= 300 && !r.chars().any(char::is_control)) {
                return Err(err("route", "a route template starting with /"));
            }
            given.push(Selector::Route(r.to_owned()));
        }
        let from = time("from", &self.from)?;
        let to = time("to", &self.to)?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(err("to", "is before from"));
            }
        }
        let selector = match given.len() {
            1 => given.remove(0),
            0 => return Err(err(
                "selector",
                "give one of request_id, trace_id, alert_fingerprint or route (with from and to)",
            )),
            _ => {
                return Err(err(
                    "selector",
                    "give only one of request_id, trace_id, alert_fingerprint, route",
                ))
            }
        };
        if let Selector::Route(_) = selector {
            match (from, to) {
                (Some(f), Some(t)) if t - f <= MAX_WINDOW => {}
                (Some(_), Some(_)) => return Err(err("to", "a route window is at most 24 h")),
                _ => return Err(err("from", "a route needs a window: from and to")),
            }
        }
        Ok(IncidentQuery { selector, from, to })
    }
}

impl IncidentQuery {
    /// As recorded in the manifest and the audit trail.
    pub fn to_json(&self) -> Value {
        let iso = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
        json!({
            self.selector.kind(): self.selector.value(),
            "from": iso(self.from),
            "to": iso(self.to),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSelector {
        RawSelector::default()
    }

    #[test]
    fn exactly_one_selector_and_a_route_needs_a_window() {
        let q = RawSelector {
            request_id: Some(" req-1 ".into()),
            ..raw()
        }
        .parse()
        .expect("valid");
        assert_eq!(q.selector, Selector::RequestId("req-1".into()));
        assert_eq!(q.to_json()["request_id"], "req-1");

        let field = |r: RawSelector| r.parse().expect_err("invalid").field;
        assert_eq!(field(raw()), "selector");
        assert_eq!(
            field(RawSelector {
                request_id: Some("a".into()),
                trace_id: Some("b".into()),
                ..raw()
            }),
            "selector"
        );
        assert_eq!(
            field(RawSelector {
                route: Some("/todos".into()),
                ..raw()
            }),
            "from"
        );
        assert_eq!(
            field(RawSelector {
                route: Some("/todos".into()),
                from: Some("2026-12-01T00:00:00Z".into()),
                to: Some("2026-12-02T00:00:01Z".into()),
                ..raw()
            }),
            "to"
        );
        assert_eq!(
            field(RawSelector {
                route: Some("todos".into()),
                ..raw()
            }),
            "route"
        );
        assert_eq!(
            field(RawSelector {
                alert_fingerprint: Some("not-hex".into()),
                ..raw()
            }),
            "alert_fingerprint"
        );
        assert_eq!(
            field(RawSelector {
                request_id: Some("a b".into()),
                ..raw()
            }),
            "request_id"
        );
        let pairs =
            |q: &'static str| RawSelector::from_pairs(url::form_urlencoded::parse(q.as_bytes()));
        assert_eq!(
            pairs("request_id=a&from=2026-12-01T10%3A00%3A00Z").expect("ok"),
            RawSelector {
                request_id: Some("a".into()),
                from: Some("2026-12-01T10:00:00Z".into()),
                ..raw()
            }
        );
        assert_eq!(pairs("requestid=a").expect_err("unknown").field, "query");
        assert_eq!(
            pairs("route=/a&route=/b").expect_err("twice").field,
            "route"
        );
        assert_eq!(
            field(RawSelector {
                request_id: Some("a".into()),
                from: Some("yesterday".into()),
                ..raw()
            }),
            "from"
        );
        assert_eq!(
            field(RawSelector {
                request_id: Some("a".into()),
                from: Some("2026-12-01T11:00:00Z".into()),
                to: Some("2026-12-01T10:00:00Z".into()),
                ..raw()
            }),
            "to"
        );
        let q = RawSelector {
            route: Some("/todos/{id}".into()),
            from: Some("2026-12-01T10:00:00Z".into()),
            to: Some("2026-12-01T11:00:00Z".into()),
            ..raw()
        }
        .parse()
        .expect("valid");
        assert_eq!(q.selector.kind(), "route");
        assert_eq!(q.to_json()["from"], "2026-12-01T10:00:00+00:00");
    }
}
