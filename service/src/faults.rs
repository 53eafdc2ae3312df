//! Fault injection for alert drills (the opentelemetry-demo idea): per route
//! template, a share of requests answered 500, added latency, CPU burn, panics. Set
//! and cleared at run time through /admin/faults (admin token required);
//! every injected fault is logged. Off costs one atomic load per request.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::RwLock;
use serde::Serialize;
use serde_json::Value;

use crate::domain::BodyObject;
use crate::error::ApiError;

/// Route value that applies a rule to every route.
pub const ALL_ROUTES: &str = "*";
const MAX_DELAY_MS: u64 = 60_000;
const MAX_CPU_BURN_MS: u64 = 10_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FaultRule {
    /// Share of requests answered 500 (0.0-1.0).
    pub error_rate: f64,
    /// Latency added before the handler runs.
    pub delay_ms: u64,
    /// CPU spent spinning before the handler runs.
    pub cpu_burn_ms: u64,
    /// Share of requests whose handler panics (0.0-1.0): drills the panic path.
    pub panic_rate: f64,
}

impl FaultRule {
    /// Parses `{"route": "...", "error_rate": 0.5, "delay_ms": 100, "cpu_burn_ms": 5, "panic_rate": 0.1}`.
    pub fn parse(body: Value) -> Result<(String, FaultRule), ApiError> {
        let mut body = BodyObject::new(body)?;
        let route = match body.take("route") {
            Some(Value::String(r)) if r == ALL_ROUTES || r.starts_with('/') => r,
            _ => {
                return Err(ApiError::invalid(
                    "route",
                    "must be a route template such as /projects/{id}, or *",
                ))
            }
        };
        let number = |body: &mut BodyObject, field: &str, max: f64| -> Result<f64, ApiError> {
            match body.take(field) {
                None | Some(Value::Null) => Ok(0.0),
                Some(v) => match v.as_f64() {
                    Some(n) if (0.0..=max).contains(&n) => Ok(n),
                    _ => Err(ApiError::invalid(
                        field,
                        format!("must be a number from 0 to {max}"),
                    )),
                },
            }
        };
        let rule = FaultRule {
            error_rate: number(&mut body, "error_rate", 1.0)?,
            delay_ms: number(&mut body, "delay_ms", MAX_DELAY_MS as f64)? as u64,
            cpu_burn_ms: number(&mut body, "cpu_burn_ms", MAX_CPU_BURN_MS as f64)? as u64,
            panic_rate: number(&mut body, "panic_rate", 1.0)?,
        };
        body.finish()?;
        Ok((route, rule))
    }
}

#[derive(Debug, Default)]
pub struct Faults {
    active: AtomicBool,
    rules: RwLock<BTreeMap<String, FaultRule>>,
}

impl Faults {
    pub fn set(&self, route: String, rule: FaultRule) {
        let mut rules = self.rules.write();
        rules.insert(route, rule);
        self.active.store(true, Ordering::Release);
    }

    pub fn clear(&self) {
        self.rules.write().clear();
        self.active.store(false, Ordering::Release);
    }

    pub fn list(&self) -> BTreeMap<String, FaultRule> {
        self.rules.read().clone()
    }

    fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    fn rule_for(&self, route: &str) -> Option<FaultRule> {
        if !self.is_active() {
            return None;
        }
        let rules = self.rules.read();
        rules.get(route).or_else(|| rules.get(ALL_ROUTES)).cloned()
    }
}

fn burn_cpu(duration: Duration) {
    let until = Instant::now() + duration;
    let mut x: u64 = 1;
    while Instant::now() < until {
        for _ in 0..1000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

/// Applies the rule of the matched route, if any. Layered on the API routes
/// only (see `startup::router`), so health and admin endpoints stay usable
/// during a drill. Costs one atomic load while no fault is set.
pub async fn inject(State(faults): State<Arc<Faults>>, request: Request, next: Next) -> Response {
    if !faults.is_active() {
        return next.run(request).await;
    }
    let Some(route) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(request).await;
    };
    let Some(rule) = faults.rule_for(&route) else {
        return next.run(request).await;
    };
    if rule.delay_ms > 0 {
        tracing::warn!(fault.kind = "latency", fault.delay_ms = rule.delay_ms, http.route = %route, "injected fault: latency");
        tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
    }
    if rule.cpu_burn_ms > 0 {
        tracing::warn!(fault.kind = "cpu", fault.cpu_burn_ms = rule.cpu_burn_ms, http.route = %route, "injected fault: cpu burn");
        burn_cpu(Duration::from_millis(rule.cpu_burn_ms));
    }
    if rule.panic_rate > 0.0 && rand::random::<f64>() < rule.panic_rate {
        tracing::warn!(fault.kind = "panic", fault.panic_rate = rule.panic_rate, http.route = %route, "injected fault: panic");
        panic!("injected fault: panic on {route}");
    }
    if rule.error_rate > 0.0 && rand::random::<f64>() < rule.error_rate {
        tracing::warn!(fault.kind = "error", fault.error_rate = rule.error_rate, http.route = %route, "injected fault: 500");
        return ApiError::InjectedFault.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_parse_and_name_bad_fields() {
        let (route, rule) =
            FaultRule::parse(json!({"route": "/projects", "error_rate": 0.5})).unwrap();
        assert_eq!(route, "/projects");
        assert_eq!(rule.error_rate, 0.5);
        let cases = [
            (json!({"error_rate": 0.5}), "route"),
            (json!({"route": "projects"}), "route"),
            (json!({"route": "*", "error_rate": 2}), "error_rate"),
            (json!({"route": "*", "delay_ms": -1}), "delay_ms"),
            (json!({"route": "*", "panic_rate": 1.5}), "panic_rate"),
            (json!({"route": "*", "colour": 1}), "colour"),
        ];
        for (body, field) in cases {
            assert_eq!(
                FaultRule::parse(body.clone()).unwrap_err().field(),
                Some(field),
                "{body}"
            );
        }
    }

    #[test]
    fn wildcard_applies_when_no_route_rule() {
        let faults = Faults::default();
        assert_eq!(faults.rule_for("/projects"), None);
        faults.set(
            "*".into(),
            FaultRule {
                delay_ms: 5,
                ..Default::default()
            },
        );
        assert_eq!(faults.rule_for("/projects").map(|r| r.delay_ms), Some(5));
        faults.clear();
        assert_eq!(faults.rule_for("/projects"), None);
    }
}
