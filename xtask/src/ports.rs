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

/// Most Elasticsearch nodes `cargo xtask up --es-nodes` starts: their HTTP ports
/// (9200..) and transport ports (9300..) stay clear of every other port here.
pub const MAX_ES_NODES: u16 = 9;

/// HTTP port of Elasticsearch node `i` (1-based) of a cluster, as elastic/es.sh
/// numbers them (ES_PORT + i - 1; node 1 is the single node's port).
pub fn elasticsearch_node(i: u16) -> u16 {
    ELASTICSEARCH + i.saturating_sub(1)
}

/// Transport port of node `i`, as elastic/es.sh sets it (ES_PORT + 100 + i - 1).
pub fn elasticsearch_transport(i: u16) -> u16 {
    ELASTICSEARCH + 100 + i.saturating_sub(1)
}

/// The Collector's `ELASTICSEARCH_ENDPOINT` for `nodes` nodes: every node's URL,
/// comma-separated (the Collector's config decoder splits a string on "," into
/// the exporter's `endpoints` list).
pub fn elasticsearch_endpoints(nodes: u16) -> String {
    (1..=nodes.max(1))
        .map(|i| url(elasticsearch_node(i)))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_node_is_the_single_url() {
        assert_eq!(elasticsearch_endpoints(1), url(ELASTICSEARCH));
        assert_eq!(elasticsearch_endpoints(0), url(ELASTICSEARCH));
    }

    #[test]
    fn a_cluster_lists_every_node_in_order() {
        assert_eq!(
            elasticsearch_endpoints(3),
            "http://127.0.0.1:9200,http://127.0.0.1:9201,http://127.0.0.1:9202"
        );
        assert_eq!(elasticsearch_transport(1), 9300);
        assert_eq!(elasticsearch_transport(3), 9302);
    }

    #[test]
    fn cluster_ports_clash_with_no_other_port() {
        let others = [
            SERVICE,
            OTLP_GRPC,
            OTLP_HTTP,
            COLLECTOR_HEALTH,
            COLLECTOR_METRICS,
            COLLECTOR_PROMETHEUS_EXPORTER,
            PROMETHEUS,
            ALERTMANAGER,
            ONCALL,
            GRAFANA,
            KIBANA,
        ];
        for i in 1..=MAX_ES_NODES {
            for port in [elasticsearch_node(i), elasticsearch_transport(i)] {
                assert!(!others.contains(&port), "node {i}: port {port} is taken");
            }
            assert!(elasticsearch_node(i) < elasticsearch_transport(1));
        }
    }
}
