//! The on-call server and CLI (`oncall`): the Alertmanager relay (`oncall serve`)
//! and dashboard snapshots (`oncall snapshot`), the operators' log queries
//! (`logs`), incident bundles (`incident`), retention (`retention`) and the
//! pipeline's measured cost (`cost`).

pub mod cli;
pub mod cost;
pub mod dashboards;
pub mod elasticsearch;
pub mod incident;
pub mod logs;
pub mod operators;
pub mod prometheus;
pub mod relay;
pub mod retention;
pub mod serve;
pub mod snapshot;
pub mod telemetry;
