//! The on-call server and CLI (`oncall`). Today it holds the Alertmanager relay
//! (`oncall serve`); the operators' log queries, incident bundles, snapshots and
//! retention join it as modules beside `relay`.

pub mod cli;
pub mod elasticsearch;
pub mod relay;
pub mod serve;
pub mod telemetry;
