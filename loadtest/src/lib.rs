//! Two programs that share a binary and a command line, one tree each:
//!
//! - [`run`]: `loadtest run SCENARIO`, k6-style scenarios on goose against a running
//!   service (checks, thresholds, fidelity against the service's own counts, reports);
//! - [`overhead`]: the telemetry overhead gate (AC-005), `loadtest overhead` (server CPU
//!   and latency with telemetry off, sdk and lean, its own blocking-socket generator) and
//!   `loadtest instructions` (callgrind's instruction counts);
//!
//! and [`local`]: `loadtest local`, a fresh service on a free port for one `run`
//! (what scripts/loadtest.sh calls). The trees share only [`timer_slack`].
//! See the README's "Load tests".

pub mod cli;
pub mod local;
pub mod overhead;
pub mod run;
pub mod timer_slack;
