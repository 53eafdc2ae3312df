//! The log API of `oncall serve`: `GET /api/v1/logs` (role oncall) and
//! `GET /api/v1/audit` (role auditor), bearer-token authenticated. Each answer
//! is NDJSON, and is sent only once its audit record is written: a failed
//! audit write fails the request, so nothing is read without a trace of it.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::elasticsearch::Elasticsearch;
use crate::logs::audit::{AuditRecord, AuditTrail};
use crate::logs::export::{export, Export, NdjsonBuilder};
use crate::logs::query::RawFilters;
use crate::operators::{Operator, Operators, Role};

pub const LOGS_PATH: &str = "/api/v1/logs";
pub const AUDIT_PATH: &str = "/api/v1/audit";
/// Response headers: the records returned, their SHA-256, the audit record's id.
pub const HITS_HEADER: &str = "x-oncall-hits";
pub const SHA256_HEADER: &str = "x-oncall-sha256";
pub const AUDIT_ID_HEADER: &str = "x-oncall-audit-id";

pub struct LogApi {
    /// Read at every request, so operator changes apply without a restart.
    pub operators_file: PathBuf,
    pub logs: Elasticsearch,
    pub logs_index: String,
    pub audit: AuditTrail,
}

pub fn router(api: Arc<LogApi>) -> Router {
    Router::new()
        .route(LOGS_PATH, get(logs))
        .route(AUDIT_PATH, get(audit))
        .with_state(api)
}

pub(crate) fn error(
    status: StatusCode,
    code: &str,
    message: String,
    field: Option<&str>,
) -> Response {
    let mut response = (
        status,
        Json(json!({"error": {"code": code, "message": message, "field": field}})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// The operator behind the bearer token, if their role includes `needed`.
pub(crate) async fn authorise(
    api: &LogApi,
    headers: &HeaderMap,
    needed: Role,
) -> Result<Operator, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "a bearer token is required (Authorization: Bearer <token>)".into(),
            None,
        ));
    };
    let operators = match tokio::fs::read_to_string(&api.operators_file).await {
        Ok(text) => Operators::parse(&text),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    };
    let operators = operators.map_err(|e| {
        tracing::error!(file = %api.operators_file.display(), error = %e, "operators file unreadable");
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "operators_unavailable",
            "the operators file cannot be read".into(),
            None,
        )
    })?;
    let Some(op) = operators.authenticate(token) else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "unknown token".into(),
            None,
        ));
    };
    if !op.role.allows(needed) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "role {} may not do this; it needs {}",
                op.role.as_str(),
                needed.as_str()
            ),
            None,
        ));
    }
    Ok(op.clone())
}

/// Writes the audit record, then answers with the body (or 503 and nothing).
async fn audited(
    api: &LogApi,
    op: &Operator,
    action: &'static str,
    filters: serde_json::Value,
    out: Export,
) -> Response {
    let record = AuditRecord::new(op, action, filters, out.hits, out.sha256.clone());
    let id = match api.audit.append(&record).await {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, operator = %op.name, "audit write failed; the answer is withheld");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                format!("the audit record could not be written, so no logs are returned: {e}"),
                None,
            );
        }
    };
    tracing::info!(operator = %op.name, action, hits = out.hits, audit_id = %id, "log access audited");
    let mut response = (StatusCode::OK, out.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    for (name, value) in [
        (HITS_HEADER, out.hits.to_string()),
        (SHA256_HEADER, out.sha256),
        (AUDIT_ID_HEADER, id),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    response
}

async fn logs(
    State(api): State<Arc<LogApi>>,
    headers: HeaderMap,
    Query(raw): Query<RawFilters>,
) -> Response {
    let op = match authorise(&api, &headers, Role::Oncall).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let filters = match raw.parse(chrono::Utc::now()) {
        Ok(f) => f,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_filter",
                e.error,
                Some(e.field),
            )
        }
    };
    let out = match export(&api.logs, &api.logs_index, &filters).await {
        Ok(out) => out,
        Err(e) => {
            tracing::error!(error = %e, "log search failed");
            return error(
                StatusCode::BAD_GATEWAY,
                "search_failed",
                e.to_string(),
                None,
            );
        }
    };
    audited(&api, &op, "logs.query", filters.to_audit(), out).await
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditParams {
    pub operator: Option<String>,
    pub since: Option<String>,
    pub size: Option<String>,
}

async fn audit(
    State(api): State<Arc<LogApi>>,
    headers: HeaderMap,
    Query(p): Query<AuditParams>,
) -> Response {
    let op = match authorise(&api, &headers, Role::Auditor).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let from = match p.since.as_deref().filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(s) => match crate::snapshot::parse_since(s)
            .ok()
            .and_then(|d| chrono::Duration::from_std(d).ok())
        {
            Some(d) => Some(chrono::Utc::now() - d),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_filter",
                    "a duration like 30m, 2h, 1d".into(),
                    Some("since"),
                )
            }
        },
    };
    let size = match p.size.as_deref().map(str::parse::<u64>) {
        None => 1000,
        Some(Ok(n)) if (1..=10_000).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_filter",
                "a whole number from 1 to 10000".into(),
                Some("size"),
            )
        }
    };
    let operator = p
        .operator
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    let records = match api.audit.read(operator, from, size).await {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_GATEWAY,
                "search_failed",
                e.to_string(),
                None,
            )
        }
    };
    let mut out = NdjsonBuilder::default();
    for r in &records {
        out.push(r);
    }
    let filters = json!({ "operator": operator, "since": p.since, "size": size });
    audited(&api, &op, "audit.read", filters, out.finish()).await
}
