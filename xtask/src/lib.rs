//! The native stack runner behind `cargo xtask`: installs, starts, checks and stops
//! the real pipeline (our Collector, Elasticsearch, Prometheus, Alertmanager and the
//! AlertingScout service) as plain processes, with state in `.stack/`.
//!
//! The library part is what tests share with the binary: the port contract, the
//! folder layout and the HTTP probes.

pub mod admin_token;
pub mod flags;
pub mod layout;
pub mod ports;
pub mod probe;
pub mod secrets;
