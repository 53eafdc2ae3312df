//! `loadtest local [--service BINARY] [--sink] -- SCENARIO [run flags]`: a fresh service
//! for one `loadtest run`, what scripts/loadtest.sh (and so CI) calls.
//!
//! The service starts on a free loopback port (read from its "listening on" line, the
//! one implementation in [`listening`]) with its Prometheus endpoint on, so the run's
//! counts are checked against the service's own, and a fresh SQLite file in a scratch
//! directory. Telemetry goes to an in-process OTLP receiver with `--sink` (the release
//! figures of docs/performance.md), otherwise to a port where nothing listens. The
//! service is stopped with SIGTERM afterwards; the exit code is the run's.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser as _;
use listening::Rest;
use otlp_sink::Background;

use crate::run::RunArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The service binary; the folder it is in is printed as the build profile.
    #[arg(long, default_value = "target/debug/alertingscout")]
    pub service: PathBuf,
    /// Export the service's telemetry to an OTLP receiver in this process (otherwise to
    /// a port where nothing listens).
    #[arg(long)]
    pub sink: bool,
    /// `loadtest run`'s arguments without --target: SCENARIO [flags].
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub run: Vec<String>,
}

/// `loadtest run`'s command line, parsed on its own.
#[derive(clap::Parser, Debug)]
#[command(name = "loadtest run")]
struct RunCommand {
    #[command(flatten)]
    args: RunArgs,
}

/// How long the service may take to bind, and to flush and exit on SIGTERM.
const START: Duration = Duration::from_secs(60);
const STOP: Duration = Duration::from_secs(30);
/// The service log's last lines, printed when the run did not pass.
const LOG_TAIL: usize = 30;

pub fn main(args: Args) -> anyhow::Result<bool> {
    if args
        .run
        .iter()
        .any(|a| a == "--target" || a.starts_with("--target="))
    {
        // A usage error, with clap's exit code (2), as a second --target always was.
        clap::Error::raw(
            clap::error::ErrorKind::ArgumentConflict,
            "--target: the service `loadtest local` starts is the target\n",
        )
        .exit();
    }
    // The run's flags are checked before anything starts, with clap's usage and exit
    // code (2), as `loadtest run` itself would.
    let mut run = RunCommand::try_parse_from(
        std::iter::once("loadtest run".to_owned()).chain(args.run.iter().cloned()),
    )
    .unwrap_or_else(|e| e.exit())
    .args;

    let scratch = tempfile::Builder::new()
        .prefix("loadtest-local-")
        .tempdir()
        .context("creating a scratch directory")?;
    // The receiver has its own runtime, so it answers exports while the run blocks.
    let receiver = if args.sink {
        Some(Background::start(false).context("starting the OTLP receiver")?)
    } else {
        None
    };
    let otlp = receiver
        .as_ref()
        .map_or("http://127.0.0.1:9".to_owned(), |sink| sink.grpc_endpoint());
    let log = scratch.path().join("service.log");
    let mut service = start_service(&args.service, scratch.path(), &log, &otlp)?;
    println!(
        "service at {} (profile {}, OTLP to {otlp})",
        service.address,
        profile(&args.service)
    );
    run.target = service.address.clone();
    let result = crate::run::main(run);
    if !matches!(result, Ok(true)) {
        println!("--- service log (last {LOG_TAIL} lines)");
        println!("{}", listening::log_tail(&log, LOG_TAIL));
    }
    // The run's outcome is the exit code; a service slow to stop is only reported.
    match service.terminate(STOP) {
        Ok(stopped) if stopped.killed => {
            eprintln!("loadtest: the service did not stop within {STOP:?} of SIGTERM")
        }
        Ok(_) => {}
        Err(e) => eprintln!("loadtest: stopping the service: {e}"),
    }
    drop(receiver);
    result
}

fn start_service(
    binary: &Path,
    dir: &Path,
    log: &Path,
    otlp: &str,
) -> anyhow::Result<listening::Server> {
    let mut command = Command::new(binary);
    command
        .env("ALERTINGSCOUT_LISTEN", "127.0.0.1:0")
        .env("ALERTINGSCOUT_DATABASE", dir.join("loadtest.sqlite"))
        .env("ALERTINGSCOUT_PROMETHEUS_METRICS", "on")
        .env("ALERTINGSCOUT_LOG_STDOUT", "off")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let log_file = File::create(log).context("creating the service log")?;
    listening::Server::start(
        command,
        "alertingscout listening on ",
        START,
        Rest::File(log_file),
    )
    .with_context(|| {
        format!(
            "starting {}; log:\n{}",
            binary.display(),
            listening::log_tail(log, LOG_TAIL)
        )
    })
}

/// `target/release/alertingscout` -> "release".
fn profile(binary: &Path) -> String {
    binary
        .parent()
        .and_then(Path::file_name)
        .map_or_else(|| "?".to_owned(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_is_the_binarys_folder() {
        assert_eq!(
            profile(Path::new("target/release/alertingscout")),
            "release"
        );
        assert_eq!(profile(Path::new("alertingscout")), "?");
    }
}
