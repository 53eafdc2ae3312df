//! Reading the incident's logs and spans from Elasticsearch, and resolving the
//! selector to a route and a window.
//!
//! Reproducible by construction: every matching document is read through a
//! point in time (past the 10,000-hit window), then sorted here by
//! `@timestamp` and a tie-breaker that does not depend on shards or segments
//! (`_index` + `_id` for logs; `span.id` first for spans), and written as its
//! stored `_source`, nothing added. The same query over the same data gives
//! the same bytes.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::selector::{IncidentQuery, Selector};
use crate::elasticsearch::{Elasticsearch, EsError, PointInTime};

/// Hits per page (under the 10,000 window).
pub const PAGE: u64 = 5_000;
/// The most documents of one kind an export holds (it is built in memory).
pub const MAX_DOCS: usize = 1_000_000;
/// The most request or trace ids one `terms` filter carries.
pub const MAX_TERMS: usize = 65_000;
/// An alert's window starts this long before it fired: its `for` and rate
/// window, when the requests that made it fire were served.
pub const ALERT_LEAD: chrono::Duration = chrono::Duration::minutes(10);

#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error(transparent)]
    Search(#[from] EsError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    TooLarge(String),
}

/// One stored document and what it is sorted by.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub index: String,
    pub id: String,
    pub at: Option<DateTime<Utc>>,
    pub source: Value,
}

impl Doc {
    pub fn str(&self, field: &str) -> Option<&str> {
        self.source.get(field).and_then(Value::as_str)
    }
}

/// The tie-breaker after `@timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tie {
    /// `_index`, then `_id`.
    Id,
    /// `span.id`, then `_index`, `_id`.
    SpanId,
}

/// Oldest first; equal times by the tie-breaker; documents without a time last.
pub fn sort_docs(docs: &mut [Doc], tie: Tie) {
    docs.sort_by(|a, b| {
        let time = match (a.at, b.at) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        let span = match tie {
            Tie::SpanId => a
                .str("span.id")
                .unwrap_or("")
                .cmp(b.str("span.id").unwrap_or("")),
            Tie::Id => std::cmp::Ordering::Equal,
        };
        time.then(span)
            .then_with(|| a.index.cmp(&b.index))
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// The documents as NDJSON, one stored `_source` per line.
pub fn ndjson(docs: &[Doc]) -> Vec<u8> {
    let mut out = Vec::new();
    for d in docs {
        // A Value always serialises.
        let _ = serde_json::to_writer(&mut out, &d.source);
        out.push(b'\n');
    }
    out
}

fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.with_timezone(&Utc))
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// `@timestamp` within [from, to] (either bound optional).
pub fn time_range(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<Value> {
    if from.is_none() && to.is_none() {
        return None;
    }
    let mut range = serde_json::Map::new();
    if let Some(f) = from {
        range.insert("gte".into(), json!(iso(f)));
    }
    if let Some(t) = to {
        range.insert("lte".into(), json!(iso(t)));
    }
    Some(json!({ "range": { "@timestamp": range } }))
}

/// A bool query: every `filter`, and at least one of `should` when there are any.
pub fn bool_query(filter: Vec<Value>, should: Vec<Value>) -> Value {
    if should.is_empty() {
        json!({ "bool": { "filter": filter } })
    } else {
        json!({ "bool": { "filter": filter, "should": should, "minimum_should_match": 1 } })
    }
}

fn terms(field: &str, values: &BTreeSet<String>) -> Result<Option<Value>, GatherError> {
    if values.is_empty() {
        return Ok(None);
    }
    if values.len() > MAX_TERMS {
        return Err(GatherError::TooLarge(format!(
            "{} distinct {field} values in the window (at most {MAX_TERMS}): narrow the window",
            values.len()
        )));
    }
    Ok(Some(json!({ "terms": { field: values } })))
}

/// Every document of `index` matching `query`, sorted with `tie`.
pub async fn search_all(
    es: &Elasticsearch,
    index: &str,
    query: &Value,
    tie: Tie,
) -> Result<Vec<Doc>, GatherError> {
    let mut pit = es.point_in_time(index).await?;
    let result = pages(&mut pit, query).await;
    pit.close().await;
    let mut docs = result?;
    sort_docs(&mut docs, tie);
    Ok(docs)
}

async fn pages(pit: &mut PointInTime<'_>, query: &Value) -> Result<Vec<Doc>, GatherError> {
    let mut docs = Vec::new();
    loop {
        let mut hits = pit.next_page(query, PAGE).await?;
        let full = hits.len() as u64 == PAGE;
        for hit in &mut hits {
            let source = hit["_source"].take();
            let at = parse_time(&hit["sort"][0]).or_else(|| parse_time(&source["@timestamp"]));
            docs.push(Doc {
                index: hit["_index"].as_str().unwrap_or_default().to_owned(),
                id: hit["_id"].as_str().unwrap_or_default().to_owned(),
                at,
                source,
            });
        }
        if docs.len() > MAX_DOCS {
            return Err(GatherError::TooLarge(format!(
                "more than {MAX_DOCS} documents: narrow the window"
            )));
        }
        if !full {
            break;
        }
    }
    Ok(docs)
}

/// Where the logs and spans are.
#[derive(Debug, Clone)]
pub struct Sources {
    pub es: Elasticsearch,
    pub logs_index: String,
    pub traces_index: String,
}

/// What the selector resolved to, and the documents.
#[derive(Debug, Clone, PartialEq)]
pub struct Gathered {
    pub route: Option<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub logs: Vec<Doc>,
    pub spans: Vec<Doc>,
    /// Distinct, sorted.
    pub request_ids: BTreeSet<String>,
    pub trace_ids: BTreeSet<String>,
    /// The outbox lines of the alert (alert selector only).
    pub alert_lines: Vec<Value>,
    pub logs_query: Value,
    pub spans_query: Value,
}

fn ids(docs: &[Doc], field: &str) -> BTreeSet<String> {
    docs.iter()
        .filter_map(|d| d.str(field))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The outbox lines whose fingerprint is `fingerprint`.
pub fn alert_lines(outbox: &[Value], fingerprint: &str) -> Vec<Value> {
    outbox
        .iter()
        .filter(|l| l["fingerprint"].as_str() == Some(fingerprint))
        .cloned()
        .collect()
}

/// The window of an alert: from `ALERT_LEAD` before it fired to its end (the
/// latest `ends_at`), or `now` while it fires.
pub fn alert_window(lines: &[Value], now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let starts = lines
        .iter()
        .filter_map(|l| parse_time(&l["starts_at"]))
        .min()?;
    let ends = lines.iter().filter_map(|l| parse_time(&l["ends_at"])).max();
    Some((starts - ALERT_LEAD, ends.unwrap_or(now).max(starts)))
}

pub async fn gather(
    src: &Sources,
    outbox: &[Value],
    q: &IncidentQuery,
    now: DateTime<Utc>,
) -> Result<Gathered, GatherError> {
    let bound = time_range(q.from, q.to);
    match &q.selector {
        Selector::RequestId(id) | Selector::TraceId(id) => {
            let field = if matches!(q.selector, Selector::RequestId(_)) {
                "request_id"
            } else {
                "trace.id"
            };
            let mut filter = vec![json!({ "term": { field: id } })];
            filter.extend(bound.clone());
            let logs_query = bool_query(filter, Vec::new());
            let logs = search_all(&src.es, &src.logs_index, &logs_query, Tie::Id).await?;
            let mut request_ids = ids(&logs, "request_id");
            let mut trace_ids = ids(&logs, "trace.id");
            match &q.selector {
                Selector::RequestId(id) => request_ids.insert(id.clone()),
                _ => trace_ids.insert(id.clone()),
            };
            let should: Vec<Value> = [
                terms("request_id", &request_ids)?,
                terms("trace.id", &trace_ids)?,
            ]
            .into_iter()
            .flatten()
            .collect();
            let spans_query = bool_query(bound.into_iter().collect(), should);
            let spans = search_all(&src.es, &src.traces_index, &spans_query, Tie::SpanId).await?;
            if logs.is_empty() && spans.is_empty() {
                return Err(GatherError::NotFound(format!(
                    "no log record or span has {field} {id}"
                )));
            }
            let times = logs.iter().chain(spans.iter()).filter_map(|d| d.at).chain(
                spans
                    .iter()
                    .filter_map(|d| parse_time(&d.source["end_timestamp"])),
            );
            let (lo, hi) = times.fold(
                (None, None),
                |(lo, hi): (Option<DateTime<Utc>>, Option<DateTime<Utc>>), t| {
                    (
                        Some(lo.map_or(t, |l| l.min(t))),
                        Some(hi.map_or(t, |h| h.max(t))),
                    )
                },
            );
            let route = logs
                .iter()
                .chain(spans.iter())
                .find_map(|d| d.str("http.route"))
                .map(str::to_owned);
            Ok(Gathered {
                route,
                from: q.from.or(lo).unwrap_or(now),
                to: q.to.or(hi).unwrap_or(now),
                logs,
                spans,
                request_ids,
                trace_ids,
                alert_lines: Vec::new(),
                logs_query,
                spans_query,
            })
        }
        Selector::Route(route) => {
            let (Some(from), Some(to)) = (q.from, q.to) else {
                return Err(GatherError::NotFound("a route needs from and to".into()));
            };
            window(
                src,
                Some(route.clone()),
                from,
                to,
                BTreeSet::new(),
                Vec::new(),
            )
            .await
        }
        Selector::Alert(fingerprint) => {
            let lines = alert_lines(outbox, fingerprint);
            let Some((from, to)) = alert_window(&lines, now) else {
                return Err(GatherError::NotFound(format!(
                    "no outbox line has fingerprint {fingerprint}"
                )));
            };
            let (from, to) = (q.from.unwrap_or(from), q.to.unwrap_or(to));
            let route = lines
                .iter()
                .find_map(|l| l["labels"]["http_route"].as_str())
                .map(str::to_owned);
            let examples: BTreeSet<String> = lines
                .iter()
                .flat_map(|l| l["examples"].as_array().cloned().unwrap_or_default())
                .filter_map(|e| e["request_id"].as_str().map(str::to_owned))
                .collect();
            window(src, route, from, to, examples, lines).await
        }
    }
}

/// A route (or, for an alert without one, its example requests and the
/// window's errors) over [from, to]: every log record of the route's requests
/// (their access log carries `http.route`, the rest of their records only
/// `request_id`), and their spans.
async fn window(
    src: &Sources,
    route: Option<String>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    examples: BTreeSet<String>,
    alert_lines: Vec<Value>,
) -> Result<Gathered, GatherError> {
    let range = time_range(Some(from), Some(to));
    let mut first: Vec<Value> = Vec::new();
    match &route {
        Some(r) => first.push(json!({ "term": { "http.route": r } })),
        None => first.push(json!({ "term": { "log.level": "ERROR" } })),
    }
    first.extend(terms("request_id", &examples)?);
    let first_query = bool_query(range.clone().into_iter().collect(), first.clone());
    let seed = search_all(&src.es, &src.logs_index, &first_query, Tie::Id).await?;
    let mut request_ids = ids(&seed, "request_id");
    request_ids.extend(examples);
    let mut should = first;
    should.extend(terms("request_id", &request_ids)?);
    let logs_query = bool_query(range.clone().into_iter().collect(), should);
    let logs = search_all(&src.es, &src.logs_index, &logs_query, Tie::Id).await?;
    let trace_ids = ids(&logs, "trace.id");
    let mut span_should: Vec<Value> = Vec::new();
    if let Some(r) = &route {
        span_should.push(json!({ "term": { "http.route": r } }));
    }
    span_should.extend(terms("request_id", &request_ids)?);
    span_should.extend(terms("trace.id", &trace_ids)?);
    let spans_query = if span_should.is_empty() {
        // Nothing to look for: match nothing rather than every span of the window.
        json!({ "bool": { "must_not": { "match_all": {} } } })
    } else {
        bool_query(range.into_iter().collect(), span_should)
    };
    let spans = search_all(&src.es, &src.traces_index, &spans_query, Tie::SpanId).await?;
    Ok(Gathered {
        route,
        from,
        to,
        logs,
        spans,
        request_ids,
        trace_ids,
        alert_lines,
        logs_query,
        spans_query,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(index: &str, id: &str, at: &str, span: Option<&str>) -> Doc {
        Doc {
            index: index.into(),
            id: id.into(),
            at: parse_time(&json!(at)),
            source: json!({ "@timestamp": at, "span.id": span, "n": id }),
        }
    }

    #[test]
    fn equal_times_sort_by_the_tie_breaker_whatever_the_input_order() {
        let t = "2026-12-01T10:00:00.000000001Z";
        let mut a = vec![
            doc("logs-b", "2", t, Some("s2")),
            doc("logs-a", "9", t, Some("s1")),
            doc("logs-a", "1", "2026-12-01T10:00:00Z", None),
            doc("logs-a", "0", "not a time", None),
        ];
        let mut b = a.clone();
        b.reverse();
        sort_docs(&mut a, Tie::Id);
        sort_docs(&mut b, Tie::Id);
        assert_eq!(ndjson(&a), ndjson(&b));
        let order: Vec<&str> = a.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(order, ["1", "9", "2", "0"]);
        sort_docs(&mut a, Tie::SpanId);
        let order: Vec<&str> = a.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(order, ["1", "9", "2", "0"]);
        let mut c = vec![doc("t", "1", t, Some("bb")), doc("t", "2", t, Some("aa"))];
        sort_docs(&mut c, Tie::SpanId);
        assert_eq!(c[0].id, "2");
    }

    #[test]
    fn an_alert_s_window_runs_from_before_it_fired_to_its_end() {
        let now = parse_time(&json!("2026-12-01T12:00:00Z")).expect("time");
        let firing =
            json!({"fingerprint": "ab", "starts_at": "2026-12-01T10:00:00Z", "ends_at": null});
        let resolved = json!({"fingerprint": "ab", "starts_at": "2026-12-01T10:00:00Z", "ends_at": "2026-12-01T10:30:00Z"});
        let other = json!({"fingerprint": "cd", "starts_at": "2026-12-01T09:00:00Z"});
        let outbox = [firing.clone(), other, resolved.clone()];
        let lines = alert_lines(&outbox, "ab");
        assert_eq!(lines, vec![firing.clone(), resolved]);
        let (from, to) = alert_window(&lines, now).expect("window");
        assert_eq!(iso(from), "2026-12-01T09:50:00.000000000Z");
        assert_eq!(iso(to), "2026-12-01T10:30:00.000000000Z");
        let (_, to) = alert_window(&[firing], now).expect("window");
        assert_eq!(to, now);
        assert!(alert_window(&[], now).is_none());
    }

    #[test]
    fn queries_carry_the_window_and_the_ids() {
        let q = bool_query(
            time_range(parse_time(&json!("2026-12-01T10:00:00Z")), None)
                .into_iter()
                .collect(),
            vec![json!({"term": {"http.route": "/a"}})],
        );
        assert_eq!(q["bool"]["minimum_should_match"], 1);
        assert_eq!(
            q["bool"]["filter"][0]["range"]["@timestamp"]["gte"],
            "2026-12-01T10:00:00.000000000Z"
        );
        let many: BTreeSet<String> = (0..=MAX_TERMS).map(|i| i.to_string()).collect();
        assert!(matches!(
            terms("request_id", &many),
            Err(GatherError::TooLarge(_))
        ));
        assert!(terms("request_id", &BTreeSet::new())
            .expect("empty")
            .is_none());
    }
}
