//! The resource every signal carries: service.name (default alertingscout),
//! service.version, service.instance.id, deployment.environment.name and
//! host.name. Values from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win
//! over our defaults.

use opentelemetry::KeyValue;
use opentelemetry_sdk::resource::{EnvResourceDetector, TelemetryResourceDetector};
use opentelemetry_sdk::Resource;

pub const DEFAULT_SERVICE_NAME: &str = "alertingscout";

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

pub fn build() -> Resource {
    let defaults = [
        KeyValue::new("service.name", DEFAULT_SERVICE_NAME),
        KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
        KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()),
        KeyValue::new("deployment.environment.name", "local"),
        KeyValue::new("host.name", host_name()),
    ];
    let mut builder = Resource::builder_empty()
        .with_attributes(defaults)
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_detector(Box::new(EnvResourceDetector::new()));
    if let Ok(name) = std::env::var("OTEL_SERVICE_NAME") {
        if !name.trim().is_empty() {
            builder = builder.with_service_name(name.trim().to_owned());
        }
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::Key;

    #[test]
    fn defaults_are_present() {
        let resource = build();
        for key in [
            "service.name",
            "service.version",
            "service.instance.id",
            "deployment.environment.name",
            "host.name",
        ] {
            assert!(resource.get(&Key::from_static_str(key)).is_some(), "{key}");
        }
    }
}
