//! Admin endpoints (fault injection, run-time telemetry switches), only with ALERTINGSCOUT_ADMIN_TOKEN set
//! and presented as `Authorization: Bearer <token>`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use super::extract::JsonBody;
use super::AppState;
use crate::error::ApiError;
use crate::faults::FaultRule;
use crate::telemetry::switches::{SwitchState, SwitchUpdate, Switches};

fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &state.admin_token else {
        return Err(ApiError::AdminDisabled);
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Constant-time comparison: the token is a secret.
    let equal = presented.len() == token.len()
        && presented
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if equal {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

pub async fn list_faults(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    Ok(Json(json!({ "faults": state.faults.list() })))
}

pub async fn set_fault(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    let (route, rule) = FaultRule::parse(body)?;
    tracing::warn!(
        http.route = %route,
        fault.error_rate = rule.error_rate,
        fault.delay_ms = rule.delay_ms,
        fault.cpu_burn_ms = rule.cpu_burn_ms,
        "fault injection set"
    );
    state.faults.set(route, rule);
    Ok(Json(json!({ "faults": state.faults.list() })))
}

pub async fn clear_faults(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    authorize(&state, &headers)?;
    state.faults.clear();
    tracing::warn!("fault injection cleared");
    Ok(StatusCode::NO_CONTENT)
}

/// The run-time export switches (`telemetry::switches`).
pub async fn get_telemetry(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SwitchState>, ApiError> {
    authorize(&state, &headers)?;
    Ok(Json(state.telemetry.switches().state()))
}

/// Changes some switches; absent fields keep their value.
pub async fn set_telemetry(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Json<SwitchState>, ApiError> {
    authorize(&state, &headers)?;
    let update = SwitchUpdate::parse(body)?;
    Ok(Json(announced(&state, |switches| switches.apply(update))))
}

/// Back to the defaults: everything exported.
pub async fn reset_telemetry(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SwitchState>, ApiError> {
    authorize(&state, &headers)?;
    Ok(Json(announced(&state, Switches::reset)))
}

/// Applies a change and logs it. The log goes out while log export is on: before
/// a change that turns it off, after one that turns it back on, so the audit
/// trail in Elasticsearch has both.
fn announced(state: &AppState, change: impl FnOnce(&Switches) -> SwitchState) -> SwitchState {
    let switches = state.telemetry.switches();
    let log = |s: &SwitchState, phase: &str| {
        tracing::warn!(
            telemetry.traces.export = s.traces.export,
            telemetry.traces.sample_ratio = s.traces.sample_ratio,
            telemetry.logs.export = s.logs.export,
            telemetry.logs.access_log_off = ?s.logs.access_log_off,
            telemetry.metrics.export = s.metrics.export,
            telemetry.switches.default = s.default,
            "telemetry export switches {phase}"
        );
    };
    let before = switches.state();
    if before.logs.export {
        log(&before, "changing from");
    }
    let new = change(switches);
    log(&new, "set");
    new
}
