//! The optional direct Prometheus endpoint (GET /metrics) through
//! opentelemetry-prometheus, for running without a Collector. Off by
//! default: with the Collector, Prometheus scrapes the Collector instead.

use opentelemetry_prometheus::PrometheusExporter;

pub fn exporter(registry: prometheus::Registry) -> anyhow::Result<PrometheusExporter> {
    opentelemetry_prometheus::exporter()
        .with_registry(registry)
        .build()
        .map_err(|e| anyhow::anyhow!("building the Prometheus exporter: {e}"))
}

/// The registry in the text exposition format. Requests already answered whose records
/// still wait for their worker's idle moment (`after_response`) are recorded first: a
/// scrape sees every request answered before it, on the same connection too, where the
/// worker serves the scrape before it goes idle.
pub fn render(registry: &prometheus::Registry) -> Result<String, prometheus::Error> {
    use prometheus::Encoder;
    super::after_response::drain_all();
    let mut out = Vec::new();
    prometheus::TextEncoder::new().encode(&registry.gather(), &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
