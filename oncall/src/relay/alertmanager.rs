//! Alertmanager's webhook payload (version 4), as it posts it to a
//! `webhook_configs` receiver.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    pub alerts: Vec<Alert>,
    #[serde(default)]
    pub receiver: String,
    #[serde(default)]
    pub group_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub status: AlertStatus,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    /// Alertmanager sends year 1 ("0001-01-01T00:00:00Z") while an alert fires.
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
}

impl Alert {
    pub fn name(&self) -> &str {
        self.labels
            .get("alertname")
            .map(String::as_str)
            .unwrap_or("unnamed")
    }

    pub fn route(&self) -> Option<&str> {
        self.labels.get("http_route").map(String::as_str)
    }

    /// When it stopped, if it did (a real time, not Alertmanager's year-1 "unset").
    pub fn ended(&self) -> Option<DateTime<Utc>> {
        match self.status {
            AlertStatus::Firing => None,
            AlertStatus::Resolved => self.ends_at.filter(|t| t.year() > 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_alertmanager_firing_and_resolved_alerts() {
        let payload: WebhookPayload = serde_json::from_str(
            r#"{"version":"4","groupKey":"{}:{alertname=\"ApiHighErrorRate\"}","status":"firing","receiver":"oncall-relay",
                "groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://127.0.0.1:9093","truncatedAlerts":0,
                "alerts":[
                 {"status":"firing","labels":{"alertname":"ApiHighErrorRate","http_route":"/projects/{id}"},
                  "annotations":{"summary":"s"},"startsAt":"2026-12-01T14:00:00.123Z","endsAt":"0001-01-01T00:00:00Z",
                  "generatorURL":"http://127.0.0.1:9090/graph","fingerprint":"abc"},
                 {"status":"resolved","labels":{"alertname":"ApiHighCpu"},"annotations":{},
                  "startsAt":"2026-12-01T14:00:00Z","endsAt":"2026-12-01T14:30:00Z"}]}"#,
        )
        .expect("a real Alertmanager payload parses");
        let [firing, resolved] = &payload.alerts[..] else {
            panic!("two alerts")
        };
        assert_eq!(firing.name(), "ApiHighErrorRate");
        assert_eq!(firing.route(), Some("/projects/{id}"));
        assert_eq!(firing.ended(), None, "year 1 means still firing");
        assert_eq!(resolved.route(), None);
        assert_eq!(
            resolved.ended().map(|t| t.to_rfc3339()),
            Some("2026-12-01T14:30:00+00:00".to_owned())
        );
    }
}
