//! The AlertingScout API: projects and todos over JSON/HTTP, with
//! OpenTelemetry traces, metrics and logs (see `telemetry`).

pub mod configuration;
pub mod domain;
pub mod error;
pub mod faults;
pub mod panic_message;
pub mod routes;
pub mod startup;
pub mod store;
pub mod telemetry;
