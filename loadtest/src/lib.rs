//! k6-style load tests for AlertingScout, run on goose, and the telemetry overhead gate.
//! `loadtest run SCENARIO` and `loadtest overhead`: see the README's "Load tests".

pub mod affinity;
pub mod cli;
pub mod http1;
pub mod overhead;
pub mod procstat;
pub mod stats;
