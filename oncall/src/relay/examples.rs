//! The example requests of a notification: for an alert on one route, up to N
//! recent failing requests (5xx for the error alert, the slowest for the latency
//! alert) from the service's access log records in Elasticsearch.

use chrono::{DateTime, Duration as TimeDelta, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use url::Url;

use super::links;
use crate::elasticsearch::{Elasticsearch, EsError};

/// What makes a request an example of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleKind {
    /// Newest 5xx responses of the route.
    ServerErrors,
    /// Slowest requests of the route.
    Slowest,
}

impl ExampleKind {
    /// The alerts whose notifications name requests, by alert name (prometheus/rules/api.yml).
    pub fn for_alert(alertname: &str) -> Option<Self> {
        match alertname {
            "ApiHighErrorRate" => Some(ExampleKind::ServerErrors),
            "ApiHighLatency" => Some(ExampleKind::Slowest),
            _ => None,
        }
    }
}

/// The alert's window: from well before it fired (its `for` of 5 minutes, the 1-minute
/// rate window and the export delay) to its end, or now while it fires.
pub fn window(
    starts_at: DateTime<Utc>,
    ended: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    (starts_at - TimeDelta::minutes(10), ended.unwrap_or(now))
}

/// One example request, as the outbox line holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    pub request_id: String,
    pub trace_id: Option<String>,
    pub status_code: Option<u16>,
    pub duration_ms: Option<f64>,
    pub logs_command: String,
    pub logs_url: String,
}

/// The Elasticsearch query for `kind` on `route` (and `job`'s service) in [from, to]:
/// access log records only (they carry duration_ms), newest or slowest first.
pub fn query(
    kind: ExampleKind,
    job: Option<&str>,
    route: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    size: usize,
) -> Value {
    let mut filter = vec![
        json!({"term": {"http.route": route}}),
        json!({"exists": {"field": "duration_ms"}}),
        json!({"exists": {"field": "request_id"}}),
        json!({"range": {"@timestamp": {"gte": from.to_rfc3339(), "lte": to.to_rfc3339()}}}),
    ];
    if let Some(job) = job {
        filter.push(json!({"term": {"service.name": job}}));
    }
    let sort = match kind {
        ExampleKind::ServerErrors => {
            filter.push(json!({"range": {"http.response.status_code": {"gte": 500}}}));
            json!([{"@timestamp": "desc"}])
        }
        ExampleKind::Slowest => {
            json!([{"duration_ms": {"order": "desc", "unmapped_type": "double"}}])
        }
    };
    json!({
        "size": size,
        "query": {"bool": {"filter": filter}},
        "sort": sort,
        "_source": ["request_id", "trace.id", "http.response.status_code", "duration_ms", "@timestamp"],
    })
}

/// Reads the hits of [`query`]'s answer, one example each (hits without a request id
/// are skipped).
pub fn from_hits(
    answer: &Value,
    kibana: &Url,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Vec<Example> {
    let hits = answer["hits"]["hits"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    hits.iter()
        .filter_map(|hit| {
            let source = &hit["_source"];
            let request_id = source["request_id"].as_str()?.to_owned();
            Some(Example {
                trace_id: source["trace.id"].as_str().map(str::to_owned),
                status_code: source["http.response.status_code"]
                    .as_u64()
                    .and_then(|c| u16::try_from(c).ok()),
                duration_ms: source["duration_ms"].as_f64(),
                logs_command: links::logs_command(&request_id, from, to),
                logs_url: links::kibana_discover_url(kibana, &request_id, from, to),
                request_id,
            })
        })
        .collect()
}

/// Finds examples in Elasticsearch.
#[derive(Debug, Clone)]
pub struct ExampleFinder {
    pub elasticsearch: Elasticsearch,
    pub index: String,
    pub kibana: Url,
    pub limit: usize,
}

impl ExampleFinder {
    pub async fn find(
        &self,
        kind: ExampleKind,
        job: Option<&str>,
        route: &str,
        range: (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Vec<Example>, EsError> {
        let body = query(kind, job, route, range.0, range.1, self.limit);
        let answer = self.elasticsearch.search(&self.index, &body).await?;
        Ok(from_hits(&answer, &self.kibana, range))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn only_the_error_and_latency_alerts_name_requests() {
        assert_eq!(
            ExampleKind::for_alert("ApiHighErrorRate"),
            Some(ExampleKind::ServerErrors)
        );
        assert_eq!(
            ExampleKind::for_alert("ApiHighLatency"),
            Some(ExampleKind::Slowest)
        );
        assert_eq!(ExampleKind::for_alert("ApiHighCpu"), None);
    }

    #[test]
    fn error_examples_are_the_routes_newest_5xx_in_the_window() {
        let q = query(
            ExampleKind::ServerErrors,
            Some("alertingscout"),
            "/projects/{id}",
            at("2026-12-01T14:00:00Z"),
            at("2026-12-01T14:10:00Z"),
            5,
        );
        let filter = q["query"]["bool"]["filter"].as_array().unwrap();
        assert!(filter.contains(&json!({"term": {"http.route": "/projects/{id}"}})));
        assert!(filter.contains(&json!({"range": {"http.response.status_code": {"gte": 500}}})));
        assert!(filter.contains(&json!({"term": {"service.name": "alertingscout"}})));
        assert!(filter.contains(&json!({"range": {"@timestamp": {"gte": "2026-12-01T14:00:00+00:00", "lte": "2026-12-01T14:10:00+00:00"}}})));
        assert_eq!(q["sort"], json!([{"@timestamp": "desc"}]));
        assert_eq!(q["size"], 5);
    }

    #[test]
    fn latency_examples_are_the_slowest_whatever_their_status() {
        let q = query(
            ExampleKind::Slowest,
            None,
            "/todos/{id}",
            at("2026-12-01T14:00:00Z"),
            at("2026-12-01T14:10:00Z"),
            3,
        );
        let text = q.to_string();
        assert!(!text.contains("status_code\":{\"gte"), "{text}");
        assert!(!text.contains("service.name"), "{text}");
        assert_eq!(q["sort"][0]["duration_ms"]["order"], "desc");
    }

    #[test]
    fn hits_become_examples_with_links() {
        let answer = json!({"hits": {"hits": [
            {"_source": {"request_id": "r1", "trace.id": "t1", "http.response.status_code": 500, "duration_ms": 12.5}},
            {"_source": {"trace.id": "no request id: skipped"}},
            {"_source": {"request_id": "r2"}},
        ]}});
        let kibana: Url = "http://127.0.0.1:5601".parse().unwrap();
        let range = (at("2026-12-01T14:00:00Z"), at("2026-12-01T14:10:00Z"));
        let examples = from_hits(&answer, &kibana, range);
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[0].request_id, "r1");
        assert_eq!(examples[0].trace_id.as_deref(), Some("t1"));
        assert_eq!(examples[0].status_code, Some(500));
        assert_eq!(examples[0].duration_ms, Some(12.5));
        assert!(examples[0]
            .logs_command
            .starts_with("oncall logs --request-id r1 --from "));
        assert!(examples[0].logs_url.contains("request_id:%22r1%22"));
        assert_eq!(examples[1].status_code, None);
    }

    #[test]
    fn the_window_reaches_back_before_the_alert_fired() {
        let start = at("2026-12-01T14:00:00Z");
        let now = at("2026-12-01T14:03:00Z");
        assert_eq!(window(start, None, now), (at("2026-12-01T13:50:00Z"), now));
        let end = at("2026-12-01T14:02:00Z");
        assert_eq!(window(start, Some(end), now).1, end);
    }
}
