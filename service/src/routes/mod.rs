//! HTTP handlers, one module per resource, and the extractors they share.

pub mod admin;
pub mod extract;
pub mod health;
pub mod projects;
pub mod todos;

use std::sync::Arc;
use std::time::Duration;

use crate::faults::Faults;
use crate::store::Database;
use crate::telemetry::TelemetryHandle;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub telemetry: TelemetryHandle,
    pub faults: Arc<Faults>,
    pub admin_token: Option<Arc<str>>,
    pub max_body_bytes: usize,
    /// How long a JSON body may take to arrive (408 after).
    pub body_read_timeout: Duration,
}
