//! The on-call server and CLI (`oncall`): the Alertmanager relay (`oncall serve`)
//! and dashboard snapshots (`oncall snapshot`); the operators' log queries,
//! incident bundles and retention join them as modules beside `relay`.

pub mod cli;
pub mod dashboards;
pub mod elasticsearch;
pub mod logs;
pub mod operators;
pub mod prometheus;
pub mod relay;
pub mod retention;
pub mod serve;
pub mod snapshot;
pub mod telemetry;
