//! The on-call server and CLI (`oncall`): the Alertmanager relay (`oncall serve`)
//! and dashboard snapshots (`oncall snapshot`), the operators' log queries
//! (`logs`), incident bundles (`incident`) and retention (`retention`).

pub mod cli;
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
