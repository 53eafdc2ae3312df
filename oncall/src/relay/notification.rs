//! One notification: an alert as the on-call engineer gets it, and the outbox
//! line that records it (one JSON object per line).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::alertmanager::{Alert, AlertStatus};
use super::examples::Example;
use super::links;

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub status: AlertStatus,
    pub alertname: String,
    pub labels: BTreeMap<String, String>,
    /// As the rule wrote them, with `dashboard_url` pinned to the alert's time range.
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    /// Null while the alert fires.
    pub ends_at: Option<DateTime<Utc>>,
    pub fingerprint: Option<String>,
    pub examples: Vec<Example>,
    /// Why `examples` is empty when it should not be (Elasticsearch down, slow, ...).
    pub examples_error: Option<String>,
    /// Targets that accepted it (the outbox itself last).
    pub delivered_to: Vec<String>,
    /// Targets that still refused it after every retry, with the last error.
    pub failed: BTreeMap<String, String>,
    pub relayed_at: DateTime<Utc>,
}

impl Notification {
    pub fn new(alert: &Alert, now: DateTime<Utc>) -> Self {
        let ends_at = alert.ended();
        let mut annotations = alert.annotations.clone();
        if let Some(url) = annotations.get_mut("dashboard_url") {
            // From before the alert fired (its `for` and rate window) to its end.
            let from = alert.starts_at - chrono::Duration::minutes(30);
            let to = ends_at.unwrap_or(now) + chrono::Duration::minutes(5);
            *url = links::pin_time_range(url, from, to);
        }
        Notification {
            status: alert.status,
            alertname: alert.name().to_owned(),
            labels: alert.labels.clone(),
            annotations,
            starts_at: alert.starts_at,
            ends_at,
            fingerprint: alert.fingerprint.clone(),
            examples: Vec::new(),
            examples_error: None,
            delivered_to: Vec::new(),
            failed: BTreeMap::new(),
            relayed_at: now,
        }
    }

    pub fn route(&self) -> Option<&str> {
        self.labels.get("http_route").map(String::as_str)
    }

    /// The chat message: a headline, the summary, links, and the example requests.
    pub fn text(&self) -> String {
        let mut text = format!(
            "*[{}] {}*{}",
            self.status.as_str().to_uppercase(),
            self.alertname,
            self.route()
                .map(|r| format!(" on `{r}`"))
                .unwrap_or_default()
        );
        if let Some(severity) = self.labels.get("severity") {
            text.push_str(&format!(" ({severity})"));
        }
        if let Some(summary) = self.annotations.get("summary") {
            text.push_str(&format!("\n{summary}"));
        }
        let links: Vec<String> = [("dashboard_url", "Dashboard"), ("runbook_url", "Runbook")]
            .iter()
            .filter_map(|(key, name)| self.annotations.get(*key).map(|u| format!("<{u}|{name}>")))
            .collect();
        if !links.is_empty() {
            text.push_str(&format!("\n{}", links.join(" · ")));
        }
        for example in &self.examples {
            text.push_str(&format!(
                "\n• `{}` {} in {} ms: <{}|logs> `{}`",
                example.request_id,
                example
                    .status_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "?".into()),
                example
                    .duration_ms
                    .map(|d| format!("{d:.0}"))
                    .unwrap_or_else(|| "?".into()),
                example.logs_url,
                example.logs_command
            ));
        }
        if let Some(error) = &self.examples_error {
            text.push_str(&format!("\n_No example requests: {error}_"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(status: &str) -> Alert {
        serde_json::from_value(serde_json::json!({
            "status": status,
            "labels": {"alertname": "ApiHighErrorRate", "http_route": "/projects/{id}", "severity": "page"},
            "annotations": {"summary": "15 % fail", "runbook_url": "docs/runbooks/api.md#apihigherrorrate",
                "dashboard_url": "http://127.0.0.1:3000/d/alertingscout-api/x?var-route=%2Fprojects%2F%7Bid%7D&from=now-1h&to=now"},
            "startsAt": "2026-12-01T14:00:00Z",
            "endsAt": if status == "firing" { "0001-01-01T00:00:00Z" } else { "2026-12-01T14:20:00Z" },
            "fingerprint": "f1"
        }))
        .unwrap()
    }

    #[test]
    fn the_outbox_line_has_the_contract_fields() {
        let now: DateTime<Utc> = "2026-12-01T14:06:00Z".parse().unwrap();
        let line = serde_json::to_value(Notification::new(&alert("firing"), now)).unwrap();
        for field in [
            "status",
            "alertname",
            "labels",
            "annotations",
            "starts_at",
            "ends_at",
            "examples",
            "delivered_to",
        ] {
            assert!(line.get(field).is_some(), "missing {field}: {line}");
        }
        assert_eq!(line["status"], "firing");
        assert_eq!(line["ends_at"], serde_json::Value::Null);
        let dashboard = line["annotations"]["dashboard_url"].as_str().unwrap();
        // 13:30 .. 14:11 in epoch ms, the route kept.
        assert!(
            dashboard.contains("from=1796131800000&to=1796134260000"),
            "{dashboard}"
        );
        assert!(
            dashboard.contains("var-route=%2Fprojects%2F%7Bid%7D"),
            "{dashboard}"
        );
    }

    #[test]
    fn resolved_notifications_carry_their_end() {
        let now: DateTime<Utc> = "2026-12-01T14:21:00Z".parse().unwrap();
        let n = Notification::new(&alert("resolved"), now);
        assert_eq!(
            n.ends_at.map(|t| t.to_rfc3339()),
            Some("2026-12-01T14:20:00+00:00".into())
        );
        assert!(
            n.text()
                .starts_with("*[RESOLVED] ApiHighErrorRate* on `/projects/{id}` (page)"),
            "{}",
            n.text()
        );
    }

    #[test]
    fn the_message_says_when_examples_are_missing() {
        let now: DateTime<Utc> = "2026-12-01T14:06:00Z".parse().unwrap();
        let mut n = Notification::new(&alert("firing"), now);
        n.examples_error = Some("Elasticsearch did not answer".into());
        assert!(
            n.text()
                .contains("No example requests: Elasticsearch did not answer"),
            "{}",
            n.text()
        );
    }
}
