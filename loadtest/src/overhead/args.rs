//! Command line. Phase lengths are optional so that `--quick` can supply a shorter preset
//! while any explicitly given flag still wins.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::overhead::endpoint::Endpoint;
use crate::overhead::mode::{self, Mode};

/// `loadtest overhead`: server CPU per request and latency of the same alertingscout
/// binary with telemetry off (OTEL_SDK_DISABLED=true), with the stock SDK exporters and
/// with the lean exporter.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The service binary (run from the repository root for the default).
    #[arg(long, default_value = "target/release/alertingscout")]
    pub binary: PathBuf,
    /// Rounds; each runs every mode once, the order rotating [default: 6; quick: 2].
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Telemetry modes to compare, comma separated: off, sdk, lean (off is required).
    #[arg(long, value_delimiter = ',', default_value = "off,sdk,lean")]
    pub modes: Vec<Mode>,
    /// Endpoints, comma separated: health, post, get (GET /projects/{id}).
    #[arg(long, value_delimiter = ',', default_value = "health,post")]
    pub endpoints: Vec<Endpoint>,
    /// Seconds of saturation load before the measured window [default: 1; quick: 0.5].
    #[arg(long)]
    pub warmup: Option<f64>,
    /// Seconds of measured saturation load per endpoint [default: 4; quick: 1.5].
    #[arg(long)]
    pub duration: Option<f64>,
    /// Seconds of fixed-rate load per endpoint [default: 4; quick: 2].
    #[arg(long)]
    pub open_duration: Option<f64>,
    /// Arrival rate of the fixed-rate phase, requests per second.
    #[arg(long, default_value_t = 2000.0)]
    pub rate: f64,
    /// Keep-alive connections of the saturation phase. With 4 the server core idled ~20 %
    /// between request batches on the 2-core test machine; 8 keeps it busier.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Connections of the fixed-rate phase (requests are dealt round-robin to them).
    #[arg(long, default_value_t = 16)]
    pub open_connections: usize,
    /// About 1 min instead of 6: 2 rounds and shorter phases.
    #[arg(long)]
    pub quick: bool,
    /// Also write every run and the summary as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Core for the server (taskset -c).
    #[arg(long, default_value_t = 0)]
    pub server_cpu: usize,
    /// Core for the load generator and the OTLP receiver.
    #[arg(long, default_value_t = 1)]
    pub bench_cpu: usize,
    /// Scratch directory for databases and server logs (default: a fresh one in /tmp).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// Keep the scratch directory (server logs, databases) afterwards.
    #[arg(long)]
    pub keep: bool,
    /// OTLP protocol of the server's exporters: grpc or http/protobuf (the in-process
    /// receiver serves both).
    #[arg(long, default_value = "grpc", value_parser = ["grpc", "http/protobuf"])]
    pub protocol: String,
    /// Export to this OTLP endpoint (e.g. a running Collector, http://127.0.0.1:4317)
    /// instead of the in-process receiver; records received are then not counted.
    #[arg(long)]
    pub collector: Option<String>,
    /// Extra environment for the server in every mode, KEY=VALUE, repeatable
    /// (e.g. --env OTEL_BSP_MAX_QUEUE_SIZE=8192 to compare exporter settings).
    #[arg(long = "env", value_parser = parse_kv)]
    pub extra_env: Vec<(String, String)>,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// The resolved settings of one benchmark, echoed in the JSON output.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    pub binary: PathBuf,
    pub rounds: usize,
    /// In the report's order (off, sdk, lean); round 1 runs them in this order.
    pub modes: Vec<Mode>,
    pub endpoints: Vec<Endpoint>,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub open_duration_s: f64,
    pub rate: f64,
    pub connections: usize,
    pub open_connections: usize,
    pub server_cpu: usize,
    pub bench_cpu: usize,
    pub protocol: String,
    pub collector: Option<String>,
    pub extra_env: Vec<(String, String)>,
}

struct Preset {
    rounds: usize,
    warmup: f64,
    duration: f64,
    open_duration: f64,
}

// Full: 2 endpoints x (1 + 4 + 4) s + ~2 s start/stop = ~20 s per run, 18 runs = ~6 min.
// 6 rounds give each of 3 modes (and of 2) every position equally often, and 3 modes
// one full cycle of `mode::order`.
const FULL: Preset = Preset {
    rounds: 6,
    warmup: 1.0,
    duration: 4.0,
    open_duration: 4.0,
};
// Quick: 2 x (0.5 + 1.5 + 2) + ~2 s = ~10 s per run, 6 runs = ~1 min.
const QUICK: Preset = Preset {
    rounds: 2,
    warmup: 0.5,
    duration: 1.5,
    open_duration: 2.0,
};

impl Args {
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let p = if self.quick { QUICK } else { FULL };
        let mut modes = self.modes.clone();
        modes.sort();
        modes.dedup();
        anyhow::ensure!(
            modes.len() == self.modes.len(),
            "--modes names a mode twice"
        );
        anyhow::ensure!(
            modes.contains(&Mode::Off) && modes.len() >= 2,
            "--modes needs off, the baseline, and at least one of sdk and lean"
        );
        // The modes set these; an --env copy would quietly make two modes the same.
        for (k, _) in &self.extra_env {
            anyhow::ensure!(
                k != "OTEL_SDK_DISABLED" && k != mode::EXPORTER_ENV,
                "--env {k} is set by the mode (see --modes)"
            );
        }
        let s = Settings {
            binary: self.binary.clone(),
            rounds: self.rounds.unwrap_or(p.rounds),
            modes,
            endpoints: self.endpoints.clone(),
            warmup_s: self.warmup.unwrap_or(p.warmup),
            duration_s: self.duration.unwrap_or(p.duration),
            open_duration_s: self.open_duration.unwrap_or(p.open_duration),
            rate: self.rate,
            connections: self.connections,
            open_connections: self.open_connections,
            server_cpu: self.server_cpu,
            bench_cpu: self.bench_cpu,
            protocol: self.protocol.clone(),
            collector: self.collector.clone(),
            extra_env: self.extra_env.clone(),
        };
        anyhow::ensure!(s.rounds > 0, "--rounds must be at least 1");
        anyhow::ensure!(!s.endpoints.is_empty(), "--endpoints is empty");
        anyhow::ensure!(
            s.connections > 0 && s.open_connections > 0,
            "connections must be positive"
        );
        for (name, v) in [
            ("--warmup", s.warmup_s),
            ("--duration", s.duration_s),
            ("--open-duration", s.open_duration_s),
        ] {
            anyhow::ensure!(
                v.is_finite() && v >= 0.0,
                "{name} must be a non-negative number of seconds"
            );
        }
        anyhow::ensure!(s.duration_s > 0.0, "--duration must be positive");
        anyhow::ensure!(
            s.rate.is_finite() && s.rate > 0.0,
            "--rate must be positive"
        );
        Ok(s)
    }
}

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    impl Args {
        fn try_parse_from<const N: usize>(argv: [&str; N]) -> Result<Args, clap::Error> {
            Cli::try_parse_from(argv).map(|c| c.args)
        }
    }

    #[test]
    fn quick_preset_and_explicit_override() {
        let a = Args::try_parse_from(["b", "--quick", "--rounds", "3"]).unwrap();
        let s = a.settings().unwrap();
        assert_eq!((s.rounds, s.duration_s), (3, 1.5));
        let a = Args::try_parse_from(["b", "--endpoints", "health,post,get", "--env", "A=b=c"])
            .unwrap();
        let s = a.settings().unwrap();
        assert_eq!(s.rounds, 6);
        assert_eq!(s.modes, Mode::ALL);
        assert_eq!(s.endpoints.len(), 3);
        assert_eq!(s.extra_env, vec![("A".to_owned(), "b=c".to_owned())]);
        assert!(Args::try_parse_from(["b", "--env", "novalue"]).is_err());
        assert!(Args::try_parse_from(["b", "--protocol", "http/json"]).is_err());
        assert_eq!(s.protocol, "grpc");
        assert!(Args::try_parse_from(["b", "--rounds", "0"])
            .unwrap()
            .settings()
            .is_err());
    }

    #[test]
    fn modes_are_ordered_and_need_the_baseline() {
        let modes = |argv: &[&str]| {
            let mut full = vec!["b"];
            full.extend_from_slice(argv);
            Cli::try_parse_from(full).map(|c| c.args.settings().map(|s| s.modes))
        };
        assert_eq!(
            modes(&["--modes", "lean,off"]).unwrap().unwrap(),
            [Mode::Off, Mode::Lean]
        );
        assert!(modes(&["--modes", "sdk,lean"]).unwrap().is_err());
        assert!(modes(&["--modes", "off"]).unwrap().is_err());
        assert!(modes(&["--modes", "off,lean,lean"]).unwrap().is_err());
        assert!(modes(&["--modes", "off,on"]).is_err());
        assert!(modes(&["--env", "ALERTINGSCOUT_OTLP_EXPORTER=sdk"])
            .unwrap()
            .is_err());
    }
}
