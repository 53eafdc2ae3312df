//! k6-style load tests for AlertingScout, run on goose, and the telemetry overhead gate.
//! `loadtest run SCENARIO` and `loadtest overhead`: see the README's "Load tests".

pub mod affinity;
pub mod checks;
pub mod cli;
pub mod executor;
pub mod fidelity;
pub mod http1;
pub mod metrics;
pub mod mix;
pub mod overhead;
pub mod procstat;
pub mod recorder;
pub mod report;
pub mod run;
pub mod scenario;
pub mod stats;
pub mod threshold;
pub mod units;
