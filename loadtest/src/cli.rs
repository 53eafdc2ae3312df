//! The command line: `loadtest run SCENARIO [flags]`, `loadtest overhead [flags]`,
//! `loadtest instructions [flags]` and `loadtest local [flags] -- SCENARIO [run flags]`.
//! Exit codes as k6's: 0 all thresholds passed, 99 a threshold (or an overhead budget)
//! failed, 1 anything else went wrong (bad scenario file, unreachable target).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// k6's exit code for failed thresholds.
pub const THRESHOLDS_FAILED: u8 = 99;

#[derive(Parser, Debug)]
#[command(
    name = "loadtest",
    about = "k6-style load tests for AlertingScout, and the telemetry overhead gate"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario file against the service: checks, thresholds, fidelity, reports.
    Run(crate::run::RunArgs),
    /// Server CPU per request, latency and throughput with telemetry off, through the
    /// stock SDK exporters and through the lean exporter (AC-005).
    Overhead(crate::overhead::args::Args),
    /// Instructions per request that telemetry adds, counted by callgrind (deterministic).
    Instructions(crate::overhead::instructions::Args),
    /// Start a fresh service on a free port and `run` a scenario against it (what
    /// scripts/loadtest.sh calls).
    Local(crate::local::Args),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => crate::run::main(args),
        Command::Overhead(args) => crate::overhead::main(args),
        Command::Instructions(args) => crate::overhead::instructions::main(args),
        Command::Local(args) => crate::local::main(args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(THRESHOLDS_FAILED),
        Err(e) => {
            eprintln!("loadtest: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
