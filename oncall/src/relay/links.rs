//! Links in a notification: the command that prints one request's logs, its
//! Kibana Discover view, and the dashboard pinned to the alert's time range.

use chrono::{DateTime, SecondsFormat, Utc};
use url::Url;

/// Kibana data view of the service's logs (the saved objects in elastic/ use this id).
pub const LOGS_DATA_VIEW: &str = "alertingscout-logs";

/// The operator's command printing every log record of one request within the
/// alert's window, oldest first: `oncall logs`, which authenticates the operator,
/// checks the role and audits the read (docs/security.md), rather than a raw query
/// on Elasticsearch. Shell-safe as is: request ids are `[A-Za-z0-9._-]` only.
pub fn logs_command(request_id: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let iso = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    format!(
        "oncall logs --request-id {request_id} --from {} --to {} --format ndjson",
        iso(from),
        iso(to)
    )
}

/// Kibana Discover filtered by request_id over [from, to].
pub fn kibana_discover_url(
    kibana: &Url,
    request_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> String {
    let iso = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    // Discover keeps its state in rison in the fragment; quote-free request ids need
    // no rison escaping, the KQL quotes are percent-encoded.
    let fragment = format!(
        "/?_g=(time:(from:'{}',to:'{}'))&_a=(dataSource:(dataViewId:'{LOGS_DATA_VIEW}',type:dataView),query:(language:kuery,query:'request_id:%22{}%22'))",
        iso(from),
        iso(to),
        request_id
    );
    let mut url = kibana.clone();
    url.set_path("app/discover");
    url.set_fragment(Some(&fragment));
    url.to_string()
}

/// Replaces a Grafana URL's `from`/`to` (e.g. the rule's `now-1h`) with the alert's
/// own range in epoch milliseconds, keeping every other parameter. Not a URL: as is.
pub fn pin_time_range(dashboard: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let Ok(mut url) = Url::parse(dashboard) else {
        return dashboard.to_owned();
    };
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "from" && k != "to")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("from", &from.timestamp_millis().to_string())
        .append_pair("to", &to.timestamp_millis().to_string());
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn logs_command_reads_one_request_through_oncall_logs() {
        let cmd = logs_command(
            "lt1-42",
            at("2026-12-01T14:00:00Z"),
            at("2026-12-01T14:10:00Z"),
        );
        assert_eq!(
            cmd,
            "oncall logs --request-id lt1-42 --from 2026-12-01T14:00:00.000Z --to 2026-12-01T14:10:00.000Z --format ndjson"
        );
    }

    #[test]
    fn discover_url_filters_by_request_id_and_time() {
        let kibana: Url = "http://127.0.0.1:5601".parse().unwrap();
        let url = kibana_discover_url(
            &kibana,
            "abc.1",
            at("2026-12-01T14:00:00Z"),
            at("2026-12-01T14:10:00Z"),
        );
        assert!(url.starts_with("http://127.0.0.1:5601/app/discover#/?_g=(time:(from:'2026-12-01T14:00:00.000Z',to:'2026-12-01T14:10:00.000Z'))"), "{url}");
        assert!(url.contains("query:'request_id:%22abc.1%22'"), "{url}");
        assert!(url.contains("dataViewId:'alertingscout-logs'"), "{url}");
    }

    #[test]
    fn dashboard_range_is_pinned_and_other_parameters_kept() {
        let pinned = pin_time_range(
            "http://127.0.0.1:3000/d/alertingscout-api/alertingscout-api?var-route=%2Fprojects%2F%7Bid%7D&from=now-1h&to=now",
            at("2026-12-01T14:00:00Z"),
            at("2026-12-01T15:00:00Z"),
        );
        let url = Url::parse(&pinned).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            vec![
                ("var-route".into(), "/projects/{id}".into()),
                ("from".into(), "1796133600000".into()),
                ("to".into(), "1796137200000".into()),
            ]
        );
        assert_eq!(
            pin_time_range(
                "not a url",
                at("2026-12-01T14:00:00Z"),
                at("2026-12-01T15:00:00Z")
            ),
            "not a url"
        );
    }
}
