//! The port contract of the stack. The native runner, the config files
//! (otel-collector/config.yaml, prometheus/prometheus.yml) and compose.yml agree on
//! these; tests/compose.rs checks that they do.

pub const SERVICE: u16 = 8080;
pub const OTLP_GRPC: u16 = 4317;
pub const OTLP_HTTP: u16 = 4318;
/// The Collector's health_check extension.
pub const COLLECTOR_HEALTH: u16 = 13133;
/// The Collector's own metrics (its telemetry pull reader).
pub const COLLECTOR_METRICS: u16 = 8888;
/// The Collector's prometheus exporter: the service's metrics, scraped by Prometheus.
pub const COLLECTOR_PROMETHEUS_EXPORTER: u16 = 8889;
pub const ELASTICSEARCH: u16 = 9200;
pub const PROMETHEUS: u16 = 9090;
pub const ALERTMANAGER: u16 = 9093;
/// `oncall serve`: Alertmanager's webhook (/webhook/alertmanager) and the on-call API.
pub const ONCALL: u16 = 9095;
/// compose.yml only (no native Grafana or Kibana yet).
pub const GRAFANA: u16 = 3000;
pub const KIBANA: u16 = 5601;

pub fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}
