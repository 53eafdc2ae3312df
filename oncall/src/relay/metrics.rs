//! The relay's own metrics (OTel, exported through the Collector):
//! `oncall.notifications` by target and outcome (delivered | failed),
//! `oncall.delivery.retries` by target, `oncall.examples.lookups` by outcome.

use opentelemetry::metrics::{Counter, Meter, MeterProvider};
use opentelemetry::KeyValue;

#[derive(Clone)]
pub struct RelayMetrics {
    notifications: Counter<u64>,
    retries: Counter<u64>,
    lookups: Counter<u64>,
}

impl RelayMetrics {
    /// `targets`: every delivery target's name; their series start at 0, so the
    /// first failure is an increase a rule can see (a series born at 1 is not).
    pub fn new(meter: &Meter, targets: &[&str]) -> Self {
        let metrics = RelayMetrics {
            notifications: meter
                .u64_counter("oncall.notifications")
                .with_unit("{notification}")
                .with_description("Notifications handed to a delivery target, by outcome.")
                .build(),
            retries: meter
                .u64_counter("oncall.delivery.retries")
                .with_unit("{attempt}")
                .with_description("Delivery attempts that failed and were retried.")
                .build(),
            lookups: meter
                .u64_counter("oncall.examples.lookups")
                .with_unit("{lookup}")
                .with_description("Example-request lookups in Elasticsearch, by outcome.")
                .build(),
        };
        for target in targets {
            for outcome in ["delivered", "failed"] {
                metrics.notifications.add(0, &Self::attrs(target, outcome));
            }
            metrics
                .retries
                .add(0, &[KeyValue::new("target", target.to_string())]);
        }
        for outcome in ["found", "none", "error"] {
            metrics.lookups.add(0, &[KeyValue::new("outcome", outcome)]);
        }
        metrics
    }

    /// Metrics that go nowhere (tests).
    pub fn noop() -> Self {
        let provider = opentelemetry::metrics::noop::NoopMeterProvider::new();
        Self::new(&provider.meter("oncall"), &[])
    }

    fn attrs(target: &str, outcome: &'static str) -> [KeyValue; 2] {
        [
            KeyValue::new("target", target.to_string()),
            KeyValue::new("outcome", outcome),
        ]
    }

    pub fn delivered(&self, target: &str) {
        self.notifications.add(1, &Self::attrs(target, "delivered"));
    }

    pub fn failed(&self, target: &str) {
        self.notifications.add(1, &Self::attrs(target, "failed"));
    }

    pub fn retried(&self, target: &str) {
        self.retries
            .add(1, &[KeyValue::new("target", target.to_string())]);
    }

    pub fn lookup(&self, outcome: &'static str) {
        self.lookups.add(1, &[KeyValue::new("outcome", outcome)]);
    }
}
