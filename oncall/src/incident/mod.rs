//! `oncall incident export`: one directory (or `.tar.gz`) with everything about
//! an incident, gathered by `oncall serve` behind the log API's bearer tokens
//! (role oncall) and audited like a log query.
//!
//! The server does the gathering (`api`): it already holds the reader's
//! Elasticsearch credentials, the audit writer and the operators file, so the
//! audit record names the operator behind the token and nothing reaches a
//! client without one. It resolves the selector (`selector`) to a route and a
//! window, reads the logs and spans (`gather`, stable order), the Prometheus
//! panels of the API dashboard (`metrics`), the alerts (`alerts`), writes the
//! summary (`report`) and the manifest over the exact bytes (`manifest`), and
//! answers with every file. The client (`client`) checks each file against
//! the manifest and writes the directory or archive (`write`).

pub mod alerts;
pub mod api;
pub mod client;
pub mod gather;
pub mod manifest;
pub mod metrics;
pub mod report;
pub mod selector;
pub mod write;

/// The export endpoint of `oncall serve` (role oncall).
pub const INCIDENT_PATH: &str = "/api/v1/incident";

/// Each Prometheus query of an export; a slow Prometheus delays a bundle by
/// at most this per query, and the bundle says what did not come.
pub const PROMETHEUS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Metrics cover the incident's window plus this much either side.
pub const METRICS_MARGIN: chrono::Duration = chrono::Duration::minutes(30);

/// One file of the bundle: its path inside the bundle, its exact bytes, and the
/// query behind it (recorded in the manifest).
#[derive(Debug, Clone, PartialEq)]
pub struct BundleFile {
    pub path: String,
    pub bytes: Vec<u8>,
    pub query: serde_json::Value,
}
