//! One integration-test binary (zero2prod style): every test spawns the real
//! `alertingscout` binary on a random port with its own database, and, for
//! the telemetry contract, its own in-process OTLP receiver.

mod admin;
mod helpers;
mod idle;
mod lifecycle;
mod projects;
mod request_id;
mod stall;
mod telemetry_contract;
mod telemetry_failure;
mod telemetry_switches;
mod todos;
mod unfinished;
