//! `alerts.json`: the alerts active in the incident's window, as Prometheus
//! saw them (`ALERTS`, pending and firing, over the window) and as they were
//! relayed (the outbox lines whose alert overlaps the window).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::gather::iso;
use super::BundleFile;
use crate::prometheus::{Prometheus, QueryData};

pub const ALERTS_QUERY: &str = "ALERTS";

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// Outbox lines of alerts that fired before `to` and had not ended by `from`.
pub fn outbox_in_window(outbox: &[Value], from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Value> {
    outbox
        .iter()
        .filter(|l| {
            let Some(starts) = time(&l["starts_at"]) else {
                return false;
            };
            let ended_before = time(&l["ends_at"]).is_some_and(|e| e < from);
            starts <= to && !ended_before
        })
        .cloned()
        .collect()
}

/// One alert seen in `ALERTS`: its labels and the first and last sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub alertname: String,
    pub state: String,
    pub route: Option<String>,
    pub first: f64,
    pub last: f64,
}

/// The alerts in an `ALERTS` range answer, by name, state and route.
pub fn seen(answer: &Result<Value, String>) -> Vec<Seen> {
    let Ok(data) = answer else {
        return Vec::new();
    };
    let Ok(data) = serde_json::from_value::<QueryData>(data.clone()) else {
        return Vec::new();
    };
    let mut out: Vec<Seen> = data
        .into_series()
        .into_iter()
        .filter_map(|s| {
            let (first, last) = (s.samples.first()?.t, s.samples.last()?.t);
            Some(Seen {
                alertname: s.labels.get("alertname").cloned().unwrap_or_default(),
                state: s.labels.get("alertstate").cloned().unwrap_or_default(),
                route: s.labels.get("http_route").cloned(),
                first,
                last,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.first
            .total_cmp(&b.first)
            .then(a.alertname.cmp(&b.alertname))
    });
    out
}

pub async fn fetch(
    prometheus: &Prometheus,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: std::time::Duration,
) -> Result<Value, String> {
    prometheus
        .query_range_json(ALERTS_QUERY, from, to, step)
        .await
        .map_err(|e| e.to_string())
}

/// The file: Prometheus's answer (or its error) and the outbox lines.
pub fn file(
    answer: &Result<Value, String>,
    outbox_lines: &[Value],
    prometheus: &str,
    outbox: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: std::time::Duration,
) -> BundleFile {
    let prom = match answer {
        Ok(data) => json!({ "status": "success", "data": data }),
        Err(e) => json!({ "status": "error", "errorType": "unavailable", "error": e }),
    };
    let body = json!({ "prometheus": prom, "outbox": outbox_lines });
    let mut bytes = serde_json::to_vec_pretty(&body).unwrap_or_default();
    bytes.push(b'\n');
    BundleFile {
        path: "alerts.json".into(),
        bytes,
        query: json!({
            "prometheus": { "url": prometheus, "endpoint": "api/v1/query_range", "query": ALERTS_QUERY, "start": iso(from), "end": iso(to), "step": format!("{}s", step.as_secs()) },
            "outbox": { "file": outbox, "overlapping": [iso(from), iso(to)] }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn outbox_lines_overlapping_the_window_are_kept() {
        let line = |s: &str, e: Option<&str>| json!({"alertname": s, "starts_at": s, "ends_at": e});
        let outbox = [
            line("2026-12-01T09:00:00Z", Some("2026-12-01T09:30:00Z")),
            line("2026-12-01T09:00:00Z", Some("2026-12-01T10:10:00Z")),
            line("2026-12-01T10:20:00Z", None),
            line("2026-12-01T09:55:00Z", None),
            line("2026-12-01T11:00:00Z", None),
            json!({"alertname": "no time"}),
        ];
        let kept = outbox_in_window(
            &outbox,
            at("2026-12-01T10:00:00Z"),
            at("2026-12-01T10:30:00Z"),
        );
        let starts: Vec<&str> = kept
            .iter()
            .filter_map(|l| l["starts_at"].as_str())
            .collect();
        assert_eq!(
            starts,
            [
                "2026-12-01T09:00:00Z",
                "2026-12-01T10:20:00Z",
                "2026-12-01T09:55:00Z"
            ]
        );
    }

    #[test]
    fn alerts_are_read_from_a_range_answer_and_written_with_the_outbox() {
        let answer: Result<Value, String> = Ok(json!({"resultType": "matrix", "result": [
            {"metric": {"__name__": "ALERTS", "alertname": "ApiHighErrorRate", "alertstate": "firing", "http_route": "/a"}, "values": [[200, "1"], [260, "1"]]},
            {"metric": {"__name__": "ALERTS", "alertname": "ApiHighLatency", "alertstate": "pending"}, "values": [[100, "1"]]}
        ]}));
        let s = seen(&answer);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].alertname, "ApiHighLatency");
        assert_eq!(s[1].route.as_deref(), Some("/a"));
        assert_eq!((s[1].first, s[1].last), (200.0, 260.0));
        assert!(seen(&Err("down".into())).is_empty());

        let t = at("2026-12-01T10:00:00Z");
        let f = file(
            &answer,
            &[json!({"fingerprint": "ab"})],
            "http://p/",
            "outbox.ndjson",
            t,
            t,
            std::time::Duration::from_secs(15),
        );
        let v: Value = serde_json::from_slice(&f.bytes).expect("json");
        assert_eq!(v["prometheus"]["status"], "success");
        assert_eq!(v["outbox"][0]["fingerprint"], "ab");
        assert_eq!(f.query["prometheus"]["query"], "ALERTS");
        let f = file(
            &Err("down".into()),
            &[],
            "http://p/",
            "o",
            t,
            t,
            std::time::Duration::from_secs(15),
        );
        let v: Value = serde_json::from_slice(&f.bytes).expect("json");
        assert_eq!(v["prometheus"]["error"], "down");
    }
}
