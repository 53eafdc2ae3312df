//! Admin endpoints (fault injection), only with ALERTINGSCOUT_ADMIN_TOKEN set
//! and presented as `Authorization: Bearer <token>`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use super::extract::JsonBody;
use super::AppState;
use crate::error::ApiError;
use crate::faults::FaultRule;

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
