//! The export path's own health as metrics, so Prometheus can alert on what
//! `GET /health/telemetry` shows (and dashboards can plot it):
//! - `alertingscout.telemetry.records` {record}, by `signal` and `outcome`
//!   (queued | exported | dropped): cumulative, from the health counters;
//! - `alertingscout.telemetry.export.failures` {request}, by `signal`: failed
//!   export requests (each may be retried);
//! - `alertingscout.telemetry.pending` {record}, by `signal`: queued or held for
//!   retry, not yet exported.
//!
//! Read at collection time from the same atomics the health report reads: nothing
//! is added to the request path. Every series exists from the start (at 0), so a
//! rule's `increase()` sees the first dropped record.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;

use super::shared::Shared;
use super::Signal;

pub(super) fn register(meter: &Meter, shared: &Arc<Shared>) {
    let state = Arc::clone(shared);
    meter
        .u64_observable_counter("alertingscout.telemetry.records")
        .with_unit("{record}")
        .with_description("Telemetry records by outcome: queued for export, exported, dropped.")
        .with_callback(move |observer| {
            for signal in Signal::ALL {
                let stats = state.health.get(signal);
                for (outcome, value) in [
                    ("queued", &stats.queued),
                    ("exported", &stats.exported),
                    ("dropped", &stats.dropped),
                ] {
                    observer.observe(
                        value.load(Relaxed),
                        &[
                            KeyValue::new("signal", signal.name()),
                            KeyValue::new("outcome", outcome),
                        ],
                    );
                }
            }
        })
        .build();
    let state = Arc::clone(shared);
    meter
        .u64_observable_counter("alertingscout.telemetry.export.failures")
        .with_unit("{request}")
        .with_description("Export requests that failed; each may be retried.")
        .with_callback(move |observer| {
            for signal in Signal::ALL {
                let failed = state.health.get(signal).failed_exports.load(Relaxed);
                observer.observe(failed, &[KeyValue::new("signal", signal.name())]);
            }
        })
        .build();
    let state = Arc::clone(shared);
    meter
        .i64_observable_up_down_counter("alertingscout.telemetry.pending")
        .with_unit("{record}")
        .with_description("Records queued or held for retry, not yet exported.")
        .with_callback(move |observer| {
            let queued = state.queued();
            for signal in Signal::ALL {
                let pending = state.health.get(signal).pending(*queued.get(signal));
                observer.observe(
                    i64::try_from(pending).unwrap_or(i64::MAX),
                    &[KeyValue::new("signal", signal.name())],
                );
            }
        })
        .build();
}
