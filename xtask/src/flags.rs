//! Command-line flags of Prometheus and Alertmanager: one definition for the native
//! stack and for compose.yml (tests/compose.rs compares compose's commands to these).

use crate::ports::{self, url};

/// `listen_host` is 127.0.0.1 natively and in compose (host network).
pub fn prometheus(config: &str, data: &str) -> Vec<String> {
    vec![
        format!("--config.file={config}"),
        format!("--storage.tsdb.path={data}"),
        // FR-006: 14 days.
        "--storage.tsdb.retention.time=14d".into(),
        format!("--web.listen-address=127.0.0.1:{}", ports::PROMETHEUS),
        format!("--web.external-url={}", url(ports::PROMETHEUS)),
        // The backend swap pushes metrics here (otel-collector/config-swap.yaml).
        "--web.enable-remote-write-receiver".into(),
        // POST /-/reload after a rules change.
        "--web.enable-lifecycle".into(),
        // Exemplars scraped from the Collector (OpenMetrics): a slow bucket names
        // a trace_id, which leads to that request's logs.
        "--enable-feature=exemplar-storage".into(),
    ]
}

pub fn alertmanager(config: &str, data: &str) -> Vec<String> {
    vec![
        format!("--config.file={config}"),
        format!("--storage.path={data}"),
        format!("--web.listen-address=127.0.0.1:{}", ports::ALERTMANAGER),
        format!("--web.external-url={}", url(ports::ALERTMANAGER)),
        // One instance: no gossip port.
        "--cluster.listen-address=".into(),
    ]
}

/// The service's OTEL_* and ALERTINGSCOUT_* settings on the stack (the admin token
/// aside): the native runner and compose.yml set the same.
pub fn service_env(database: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "ALERTINGSCOUT_LISTEN",
            format!("127.0.0.1:{}", ports::SERVICE),
        ),
        ("ALERTINGSCOUT_DATABASE", database.to_string()),
        ("OTEL_SERVICE_NAME", "alertingscout".into()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", url(ports::OTLP_GRPC)),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=local".into(),
        ),
    ]
}

/// `oncall serve`'s Elasticsearch users and the variables of their passwords.
pub const ONCALL_ES_CREDENTIALS: [(&str, &str); 3] = [
    ("ONCALL_ELASTICSEARCH_USER", "ONCALL_ELASTICSEARCH_PASSWORD"),
    (
        "ONCALL_AUDIT_ELASTICSEARCH_USER",
        "ONCALL_AUDIT_ELASTICSEARCH_PASSWORD",
    ),
    (
        "ONCALL_RETENTION_ELASTICSEARCH_USER",
        "ONCALL_RETENTION_ELASTICSEARCH_PASSWORD",
    ),
];

/// `oncall serve`'s settings on the stack: the native runner and compose.yml set the
/// same (the caller's ONCALL_* variables win natively, e.g. ONCALL_SLACK_WEBHOOK_URL).
pub fn oncall_env(outbox: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ONCALL_LISTEN", format!("127.0.0.1:{}", ports::ONCALL)),
        ("ONCALL_ELASTICSEARCH_URL", url(ports::ELASTICSEARCH)),
        // One Elasticsearch user per job (docs/security.md); the passwords are
        // secrets (ONCALL_ES_CREDENTIALS).
        (
            "ONCALL_ELASTICSEARCH_USER",
            crate::secrets::es_users::ONCALL_READER.into(),
        ),
        (
            "ONCALL_AUDIT_ELASTICSEARCH_USER",
            crate::secrets::es_users::ONCALL_AUDIT_WRITER.into(),
        ),
        (
            "ONCALL_RETENTION_ELASTICSEARCH_USER",
            crate::secrets::es_users::ONCALL_RETENTION.into(),
        ),
        ("ONCALL_KIBANA_URL", url(ports::KIBANA)),
        ("ONCALL_OUTBOX", outbox.to_string()),
        ("OTEL_SERVICE_NAME", "oncall".into()),
        // The relay exports with opentelemetry-otlp's HTTP exporter.
        ("OTEL_EXPORTER_OTLP_ENDPOINT", url(ports::OTLP_HTTP)),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=local".into(),
        ),
    ]
}
