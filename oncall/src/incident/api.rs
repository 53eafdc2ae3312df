//! `GET /api/v1/incident` of `oncall serve` (role oncall or above, or the
//! role `ONCALL_INCIDENT_ROLE` names): checks the
//! selector, gathers the bundle, writes its one audit record, and only then
//! answers with the bundle as a tar (manifest first). A failed audit write
//! fails the export with 503 and nothing of the bundle, as for `oncall logs`.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use url::Url;

use super::gather::{self, GatherError, Gathered, Sources};
use super::manifest::{self, Exporter, Manifest, Window, MANIFEST_PATH};
use super::selector::{IncidentQuery, RawSelector};
use super::{alerts, metrics, report, write, BundleFile, INCIDENT_PATH};
use crate::logs::api::{authorise, error, LogApi, AUDIT_ID_HEADER, SHA256_HEADER};
use crate::logs::audit::AuditRecord;
use crate::operators::{Operator, Role};
use crate::prometheus::Prometheus;

pub const ACTION: &str = "incident.export";

pub struct IncidentApi {
    /// Operators, the log reader and the audit trail: the log API's own.
    pub logs: Arc<LogApi>,
    pub traces_index: String,
    pub prometheus: Prometheus,
    pub grafana: Url,
    pub kibana: Url,
    /// The relay's outbox, for `alert_fingerprint` and alerts.json.
    pub outbox: PathBuf,
    /// The least role that may export (`ONCALL_INCIDENT_ROLE`, default oncall).
    pub role: Role,
}

pub fn router(api: Arc<IncidentApi>) -> Router {
    Router::new()
        .route(INCIDENT_PATH, get(export))
        .with_state(api)
}

/// A bundle ready to send: its files (manifest first) and the manifest's hash.
pub struct Bundle {
    pub files: Vec<(String, Vec<u8>)>,
    pub manifest: Manifest,
    pub manifest_sha256: String,
}

/// The outbox's lines as JSON; a missing outbox has none, a bad line is skipped.
async fn read_outbox(path: &std::path::Path) -> Vec<Value> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) => text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(file = %path.display(), error = %e, "outbox unreadable");
            }
            Vec::new()
        }
    }
}

fn title(q: &IncidentQuery) -> String {
    format!("{} {}", q.selector.kind(), q.selector.value())
}

fn ndjson_file(path: &str, docs: &[gather::Doc], index: &str, query: &Value) -> BundleFile {
    BundleFile {
        path: path.into(),
        bytes: gather::ndjson(docs),
        query: json!({
            "elasticsearch_index": index,
            "query": query,
            "order": "@timestamp, then span.id (spans), _index, _id",
        }),
    }
}

/// Everything but the audit: gather, query Prometheus, write the files and the manifest.
pub async fn build(
    api: &IncidentApi,
    op: &Operator,
    q: &IncidentQuery,
    now: DateTime<Utc>,
) -> Result<Bundle, GatherError> {
    let outbox = read_outbox(&api.outbox).await;
    let sources = Sources {
        es: api.logs.logs.clone(),
        logs_index: api.logs.logs_index.clone(),
        traces_index: api.traces_index.clone(),
    };
    let mut g: Gathered = gather::gather(&sources, &outbox, q, now).await?;
    // Alerts of the window beside the selected alert's own lines.
    for line in alerts::outbox_in_window(&outbox, g.from, g.to) {
        if !g.alert_lines.contains(&line) {
            g.alert_lines.push(line);
        }
    }

    let plan = metrics::plan(g.from, g.to);
    let prom_url = api.prometheus.base().to_string();
    let results = metrics::fetch(
        &api.prometheus,
        metrics::queries(g.route.as_deref(), plan.step),
        plan,
    )
    .await;
    let alert_answer = alerts::fetch(&api.prometheus, g.from, g.to, plan.step).await;

    let mut files = vec![
        ndjson_file("logs.ndjson", &g.logs, &sources.logs_index, &g.logs_query),
        ndjson_file(
            "spans.ndjson",
            &g.spans,
            &sources.traces_index,
            &g.spans_query,
        ),
    ];
    files.extend(metrics::files(&results, &plan, &prom_url));
    files.push(alerts::file(
        &alert_answer,
        &g.alert_lines,
        &prom_url,
        &api.outbox.display().to_string(),
        g.from,
        g.to,
        plan.step,
    ));

    let seen = alert_answer
        .as_ref()
        .map(|_| alerts::seen(&alert_answer))
        .map_err(Clone::clone);
    let peaks = results
        .iter()
        .map(|r| {
            let shown = r.answer.as_ref().map(|_| {
                r.peak(g.from, g.to)
                    .map(|v| crate::snapshot::format_value(v, Some(r.query.unit)))
            });
            (r.query.legend.to_owned(), shown.map_err(Clone::clone))
        })
        .collect();
    let listed: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    let report = report::render(&report::ReportInput {
        title: title(q),
        exported_at: now,
        operator: &op.name,
        role: op.role.as_str(),
        gathered: &g,
        peaks,
        alerts: &seen,
        grafana: &api.grafana,
        kibana: &api.kibana,
        files: listed,
    });
    files.push(BundleFile {
        path: "report.md".into(),
        bytes: report.into_bytes(),
        query: json!({ "from": ["logs.ndjson", "spans.ndjson", "metrics/", "alerts.json"] }),
    });

    let counts = [
        ("logs", g.logs.len()),
        ("spans", g.spans.len()),
        ("requests", g.request_ids.len()),
        ("traces", g.trace_ids.len()),
        ("outbox_alerts", g.alert_lines.len()),
        ("files", files.len() + 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v as u64))
    .collect();
    let manifest = Manifest {
        format: manifest::FORMAT,
        exported_at: now,
        exported_by: Exporter {
            operator: op.name.clone(),
            role: op.role.as_str().to_owned(),
        },
        selector: q.to_json(),
        window: Window {
            from: g.from,
            to: g.to,
        },
        counts,
        files: Manifest::entries(&files),
    };
    let manifest_bytes = manifest.to_bytes();
    let manifest_sha256 = manifest::sha256_hex(&manifest_bytes);
    let mut out = vec![(MANIFEST_PATH.to_owned(), manifest_bytes)];
    out.extend(files.into_iter().map(|f| (f.path, f.bytes)));
    Ok(Bundle {
        files: out,
        manifest,
        manifest_sha256,
    })
}

async fn export(
    State(api): State<Arc<IncidentApi>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let op = match authorise(&api.logs, &headers, api.role).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let query = query.unwrap_or_default();
    let parsed = RawSelector::from_pairs(url::form_urlencoded::parse(query.as_bytes()))
        .and_then(|raw| raw.parse());
    let q = match parsed {
        Ok(q) => q,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_selector",
                e.error,
                Some(e.field),
            )
        }
    };
    let now = Utc::now();
    let bundle = match build(&api, &op, &q, now).await {
        Ok(b) => b,
        Err(GatherError::NotFound(m)) => {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                m,
                Some(q.selector.kind()),
            )
        }
        Err(GatherError::TooLarge(m)) => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", m, Some("to"))
        }
        Err(GatherError::Search(e)) => {
            tracing::error!(error = %e, "incident search failed");
            return error(
                StatusCode::BAD_GATEWAY,
                "search_failed",
                e.to_string(),
                None,
            );
        }
    };
    let tar = match write::tar_bytes(&bundle.files, None, now.timestamp().max(0) as u64) {
        Ok(t) => t,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "bundle_failed",
                e.to_string(),
                None,
            )
        }
    };
    let counts = json!(bundle.manifest.counts);
    let hits = bundle.manifest.counts.get("logs").copied().unwrap_or(0)
        + bundle.manifest.counts.get("spans").copied().unwrap_or(0);
    let mut record = AuditRecord::new(
        &op,
        ACTION,
        q.to_json(),
        hits,
        bundle.manifest_sha256.clone(),
    )
    .with_counts(counts);
    record.timestamp = now;
    let id = match api.logs.audit.append(&record).await {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, operator = %op.name, "audit write failed; the bundle is withheld");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                format!("the audit record could not be written, so no bundle is returned: {e}"),
                None,
            );
        }
    };
    tracing::info!(operator = %op.name, selector = %title(&q), hits, audit_id = %id, "incident export audited");
    let mut response = (StatusCode::OK, tar).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    for (name, value) in [
        (SHA256_HEADER, bundle.manifest_sha256),
        (AUDIT_ID_HEADER, id),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    response
}
