//! Run-time export switches: the spec's rollback plan ("disable the pipeline and
//! fail open") without a restart. Per signal, export on or off; traces sampled
//! down to a ratio; the access records of chosen routes off (e.g. `GET /health`).
//! Set through the admin API (`PATCH /admin/telemetry`), shown in
//! `/health/telemetry` and as the `alertingscout.telemetry.export.sampled` metric.
//!
//! Each switch acts where it saves the most work on both export paths:
//! - traces: in the sampler, so an unsampled request builds no span at all;
//! - logs: in the log bridge before the SDK record is built, and before the lean
//!   path's access record is built;
//! - metrics: at export (instruments keep aggregating, so counters stay cumulative
//!   and resume without a reset when switched back).
//!
//! The request path reads only relaxed atomics, plus a read lock when a route
//! filter is set.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::metrics::Meter;
use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};
use parking_lot::RwLock;
use serde::Serialize;
use serde_json::Value;

use crate::domain::BodyObject;
use crate::error::ApiError;

/// Ratios are kept in millionths: exact to compare, one atomic to read.
const MILLION: u32 = 1_000_000;

/// The switches as the admin API and `/health/telemetry` show them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwitchState {
    pub traces: TraceSwitches,
    pub logs: LogSwitches,
    pub metrics: MetricSwitches,
    /// True when every switch is at its default (everything exported).
    pub default: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceSwitches {
    pub export: bool,
    /// Share of traces kept, 0 to 1, on top of OTEL_TRACES_SAMPLER.
    pub sample_ratio: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogSwitches {
    pub export: bool,
    /// Routes whose access records are not exported, as "METHOD /template".
    pub access_log_off: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSwitches {
    pub export: bool,
}

impl Default for SwitchState {
    fn default() -> Self {
        SwitchState {
            traces: TraceSwitches {
                export: true,
                sample_ratio: 1.0,
            },
            logs: LogSwitches {
                export: true,
                access_log_off: Vec::new(),
            },
            metrics: MetricSwitches { export: true },
            default: true,
        }
    }
}

/// A partial change: absent fields keep their value.
#[derive(Debug, Default, PartialEq)]
pub struct SwitchUpdate {
    traces_export: Option<bool>,
    traces_ratio: Option<f64>,
    logs_export: Option<bool>,
    access_log_off: Option<Vec<String>>,
    metrics_export: Option<bool>,
}

impl SwitchUpdate {
    /// Parses `{"traces": {"export", "sample_ratio"}, "logs": {"export",
    /// "access_log_off"}, "metrics": {"export"}}`, every part optional; errors
    /// name the field by its path (e.g. `traces.sample_ratio`).
    pub fn parse(body: Value) -> Result<SwitchUpdate, ApiError> {
        let mut body = BodyObject::new(body)?;
        let mut update = SwitchUpdate::default();
        if let Some(traces) = body.take("traces") {
            let mut traces = section("traces", traces)?;
            update.traces_export = flag(&mut traces, "traces", "export")?;
            update.traces_ratio = match traces.take("sample_ratio") {
                None => None,
                Some(v) => match v.as_f64() {
                    Some(r) if (0.0..=1.0).contains(&r) => Some(r),
                    _ => {
                        return Err(ApiError::invalid(
                            "traces.sample_ratio",
                            "must be a number from 0 to 1",
                        ))
                    }
                },
            };
            finish("traces", traces)?;
        }
        if let Some(logs) = body.take("logs") {
            let mut logs = section("logs", logs)?;
            update.logs_export = flag(&mut logs, "logs", "export")?;
            update.access_log_off = match logs.take("access_log_off") {
                None => None,
                Some(v) => Some(routes(v)?),
            };
            finish("logs", logs)?;
        }
        if let Some(metrics) = body.take("metrics") {
            let mut metrics = section("metrics", metrics)?;
            update.metrics_export = flag(&mut metrics, "metrics", "export")?;
            finish("metrics", metrics)?;
        }
        body.finish()?;
        Ok(update)
    }
}

fn section(name: &str, value: Value) -> Result<BodyObject, ApiError> {
    BodyObject::new(value).map_err(|_| ApiError::invalid(name, "must be an object"))
}

fn finish(name: &str, section: BodyObject) -> Result<(), ApiError> {
    section.finish().map_err(|error| match error {
        ApiError::InvalidField { field, message } => {
            ApiError::invalid(format!("{name}.{field}"), message)
        }
        other => other,
    })
}

fn flag(section: &mut BodyObject, name: &str, field: &str) -> Result<Option<bool>, ApiError> {
    match section.take(field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(ApiError::invalid(
            format!("{name}.{field}"),
            "must be true or false",
        )),
    }
}

/// `["GET /health", ...]`: an upper-case method, one space, a route template.
fn routes(value: Value) -> Result<Vec<String>, ApiError> {
    let Value::Array(items) = value else {
        return Err(ApiError::invalid(
            "logs.access_log_off",
            "must be a list such as [\"GET /health\"]",
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let valid = item.as_str().and_then(|s| {
            let (method, route) = s.split_once(' ')?;
            let method_ok = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
            let route_ok = route.starts_with('/') && !route.contains(char::is_whitespace);
            (method_ok && route_ok && s.len() <= 200).then(|| s.to_owned())
        });
        match valid {
            Some(s) if !out.contains(&s) => out.push(s),
            Some(_) => {}
            None => {
                return Err(ApiError::invalid(
                    format!("logs.access_log_off[{i}]"),
                    "must be \"METHOD /route/{template}\", e.g. \"GET /health\"",
                ))
            }
        }
    }
    Ok(out)
}

/// The live switches, shared by the sampler, the log bridge, the request layer
/// and the metric exporter.
#[derive(Debug)]
pub struct Switches {
    state: RwLock<SwitchState>,
    /// The share of traces kept (0 when trace export is off), in millionths.
    trace_millionths: AtomicU32,
    logs: AtomicBool,
    metrics: AtomicBool,
    /// Whether `state.logs.access_log_off` is non-empty: the common case reads
    /// no lock.
    access_filtered: AtomicBool,
}

impl Default for Switches {
    fn default() -> Self {
        Switches {
            state: RwLock::new(SwitchState::default()),
            trace_millionths: AtomicU32::new(MILLION),
            logs: AtomicBool::new(true),
            metrics: AtomicBool::new(true),
            access_filtered: AtomicBool::new(false),
        }
    }
}

impl Switches {
    pub fn state(&self) -> SwitchState {
        self.state.read().clone()
    }

    /// Applies `update` and returns the new state.
    pub fn apply(&self, update: SwitchUpdate) -> SwitchState {
        let mut state = self.state.write();
        if let Some(export) = update.traces_export {
            state.traces.export = export;
        }
        if let Some(ratio) = update.traces_ratio {
            state.traces.sample_ratio = ratio;
        }
        if let Some(export) = update.logs_export {
            state.logs.export = export;
        }
        if let Some(routes) = update.access_log_off {
            state.logs.access_log_off = routes;
        }
        if let Some(export) = update.metrics_export {
            state.metrics.export = export;
        }
        state.default = SwitchState {
            default: true,
            ..state.clone()
        } == SwitchState::default();
        self.publish(&state);
        state.clone()
    }

    /// Back to the defaults: everything exported.
    pub fn reset(&self) -> SwitchState {
        let mut state = self.state.write();
        *state = SwitchState::default();
        self.publish(&state);
        state.clone()
    }

    /// Mirrors `state` into the atomics the request path reads (under the write
    /// lock, so two updates cannot interleave).
    fn publish(&self, state: &SwitchState) {
        let millionths = if state.traces.export {
            (state.traces.sample_ratio * f64::from(MILLION)).round() as u32
        } else {
            0
        };
        self.trace_millionths
            .store(millionths.min(MILLION), Relaxed);
        self.logs.store(state.logs.export, Relaxed);
        self.metrics.store(state.metrics.export, Relaxed);
        self.access_filtered
            .store(!state.logs.access_log_off.is_empty(), Relaxed);
    }

    /// Whether a trace is kept: decided by its id alone (like the SDK's
    /// TraceIdRatioBased), so every span of a trace, in every service, agrees.
    pub fn keeps_trace(&self, trace_id: TraceId) -> bool {
        let millionths = self.trace_millionths.load(Relaxed);
        if millionths >= MILLION {
            return true;
        }
        if millionths == 0 {
            return false;
        }
        let bytes = trace_id.to_bytes();
        let mut low = [0u8; 8];
        low.copy_from_slice(&bytes[8..]);
        let value = u64::from_be_bytes(low) >> 1;
        let bound = (u128::from(millionths) << 63) / u128::from(MILLION);
        u128::from(value) < bound
    }

    pub fn logs_exported(&self) -> bool {
        self.logs.load(Relaxed) && !EXPORT_SUPPRESSED.with(Cell::get)
    }

    pub fn metrics_exported(&self) -> bool {
        self.metrics.load(Relaxed)
    }

    /// Whether the access record of `span_name` ("GET /health") is exported.
    pub fn access_exported(&self, span_name: &str) -> bool {
        if !self.logs.load(Relaxed) {
            return false;
        }
        !self.access_filtered.load(Relaxed)
            || !self
                .state
                .read()
                .logs
                .access_log_off
                .iter()
                .any(|r| r == span_name)
    }
}

thread_local! {
    /// Set while an event is emitted for stdout only (the stock path's access
    /// event of a route whose records are off): the bridge skips it.
    static EXPORT_SUPPRESSED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `emit` with the log bridge's export off on this thread.
pub fn without_log_export<R>(emit: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            EXPORT_SUPPRESSED.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(EXPORT_SUPPRESSED.with(|s| s.replace(true)));
    emit()
}

/// The configured sampler with the trace switch on top: a span the sampler
/// keeps is dropped when its trace is outside the switch's ratio.
#[derive(Debug, Clone)]
pub struct SwitchedSampler {
    inner: Sampler,
    switches: Arc<Switches>,
}

impl SwitchedSampler {
    pub fn new(inner: Sampler, switches: Arc<Switches>) -> Self {
        SwitchedSampler { inner, switches }
    }
}

impl ShouldSample for SwitchedSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let result =
            self.inner
                .should_sample(parent_context, trace_id, name, span_kind, attributes, links);
        if result.decision == SamplingDecision::Drop || self.switches.keeps_trace(trace_id) {
            return result;
        }
        SamplingResult {
            decision: SamplingDecision::Drop,
            attributes: Vec::new(),
            trace_state: result.trace_state,
        }
    }
}

/// A metric exporter that skips its export while metric export is switched off.
#[derive(Debug)]
pub struct SwitchedMetrics<E> {
    inner: E,
    switches: Arc<Switches>,
}

impl<E> SwitchedMetrics<E> {
    pub fn new(inner: E, switches: Arc<Switches>) -> Self {
        SwitchedMetrics { inner, switches }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for SwitchedMetrics<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        if !self.switches.metrics_exported() {
            return Ok(());
        }
        self.inner.export(metrics).await
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// `alertingscout.telemetry.export.sampled` {1}, by `signal`: the share of each
/// signal exported (traces: the sample ratio; logs and metrics: 1 or 0), and
/// `alertingscout.telemetry.access_log.routes_off` {route}. While metric export
/// is off they reach Prometheus only through the direct /metrics endpoint;
/// the admin API and /health/telemetry show them always.
pub fn register(meter: &Meter, switches: &Arc<Switches>) {
    let state = Arc::clone(switches);
    meter
        .f64_observable_gauge("alertingscout.telemetry.export.sampled")
        .with_unit("1")
        .with_description("Share of each signal exported, as set by the run-time switches.")
        .with_callback(move |observer| {
            let ratio = f64::from(state.trace_millionths.load(Relaxed)) / f64::from(MILLION);
            let on = |b: &AtomicBool| if b.load(Relaxed) { 1.0 } else { 0.0 };
            for (signal, value) in [
                ("traces", ratio),
                ("logs", on(&state.logs)),
                ("metrics", on(&state.metrics)),
            ] {
                observer.observe(value, &[KeyValue::new("signal", signal)]);
            }
        })
        .build();
    let state = Arc::clone(switches);
    meter
        .u64_observable_gauge("alertingscout.telemetry.access_log.routes_off")
        .with_unit("{route}")
        .with_description("Routes whose access records are switched off.")
        .with_callback(move |observer| {
            observer.observe(state.state.read().logs.access_log_off.len() as u64, &[]);
        })
        .build();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(error: ApiError) -> String {
        match error {
            ApiError::InvalidField { field, .. } => field,
            other => format!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn updates_parse_partially_and_errors_name_the_field() {
        let update = SwitchUpdate::parse(json!({"traces": {"sample_ratio": 0.1}})).unwrap();
        assert_eq!(update.traces_ratio, Some(0.1));
        assert_eq!(update.logs_export, None);
        let update = SwitchUpdate::parse(json!({
            "logs": {"export": true, "access_log_off": ["GET /health", "GET /health"]},
            "metrics": {"export": false}
        }))
        .unwrap();
        assert_eq!(update.access_log_off, Some(vec!["GET /health".to_owned()]));
        assert_eq!(update.metrics_export, Some(false));

        for (body, field) in [
            (
                json!({"traces": {"sample_ratio": 1.5}}),
                "traces.sample_ratio",
            ),
            (
                json!({"traces": {"sample_ratio": "all"}}),
                "traces.sample_ratio",
            ),
            (json!({"traces": {"export": "no"}}), "traces.export"),
            (json!({"traces": {"ratio": 0.5}}), "traces.ratio"),
            (json!({"traces": 0.5}), "traces"),
            (
                json!({"logs": {"access_log_off": "GET /health"}}),
                "logs.access_log_off",
            ),
            (
                json!({"logs": {"access_log_off": ["GET /health", "/todos"]}}),
                "logs.access_log_off[1]",
            ),
            (
                json!({"logs": {"access_log_off": ["get /health"]}}),
                "logs.access_log_off[0]",
            ),
            (json!({"spans": {}}), "spans"),
        ] {
            let error = SwitchUpdate::parse(body.clone()).expect_err("invalid");
            assert_eq!(field_of(error), field, "{body}");
        }
    }

    #[test]
    fn the_trace_ratio_keeps_about_its_share_decided_by_trace_id() {
        let switches = Switches::default();
        let ids: Vec<TraceId> = (0..20_000u128)
            .map(|i| TraceId::from(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)))
            .collect();
        let kept = |s: &Switches| ids.iter().filter(|id| s.keeps_trace(**id)).count();
        assert_eq!(kept(&switches), ids.len(), "default keeps every trace");

        let state = switches.apply(SwitchUpdate {
            traces_ratio: Some(0.1),
            ..Default::default()
        });
        assert!(!state.default);
        let share = kept(&switches) as f64 / ids.len() as f64;
        assert!((0.08..0.12).contains(&share), "kept {share}");
        // The same id is always decided alike.
        assert!(ids
            .iter()
            .all(|id| switches.keeps_trace(*id) == switches.keeps_trace(*id)));

        switches.apply(SwitchUpdate {
            traces_export: Some(false),
            ..Default::default()
        });
        assert_eq!(
            kept(&switches),
            0,
            "export off keeps none, whatever the ratio"
        );
        assert!(switches.reset().default);
        assert_eq!(kept(&switches), ids.len());
    }

    #[test]
    fn access_records_go_off_per_route_and_with_logs() {
        let switches = Switches::default();
        assert!(switches.access_exported("GET /health"));
        switches.apply(SwitchUpdate {
            access_log_off: Some(vec!["GET /health".into()]),
            ..Default::default()
        });
        assert!(!switches.access_exported("GET /health"));
        assert!(switches.access_exported("GET /projects"));
        assert!(switches.logs_exported(), "other log records still go");
        switches.apply(SwitchUpdate {
            logs_export: Some(false),
            access_log_off: Some(vec![]),
            ..Default::default()
        });
        assert!(!switches.access_exported("GET /projects"));
        assert!(!switches.logs_exported());
        switches.reset();
        assert!(switches.logs_exported());
        assert!(without_log_export(|| !switches.logs_exported()));
        assert!(switches.logs_exported(), "restored after the closure");
    }

    #[test]
    fn the_sampler_drops_what_the_switch_drops_and_keeps_the_rest() {
        let switches = Arc::new(Switches::default());
        let sampler = SwitchedSampler::new(
            Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            Arc::clone(&switches),
        );
        let decide = |id: u128| {
            sampler
                .should_sample(
                    None,
                    TraceId::from(id),
                    "GET /",
                    &SpanKind::Server,
                    &[],
                    &[],
                )
                .decision
        };
        assert_eq!(decide(7), SamplingDecision::RecordAndSample);
        switches.apply(SwitchUpdate {
            traces_ratio: Some(0.0),
            ..Default::default()
        });
        assert_eq!(decide(7), SamplingDecision::Drop);
        let off = SwitchedSampler::new(Sampler::AlwaysOff, Arc::new(Switches::default()));
        assert_eq!(
            off.should_sample(None, TraceId::from(7), "GET /", &SpanKind::Server, &[], &[])
                .decision,
            SamplingDecision::Drop,
            "the switch never samples what the sampler drops"
        );
    }
}
