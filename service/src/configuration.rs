//! Runtime configuration: defaults in code, overridable by environment
//! variables (and the matching command-line flags). The OpenTelemetry side
//! reads the standard `OTEL_*` variables itself, see `telemetry::config`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const OTEL_HELP: &str = "\
OpenTelemetry (standard variables):
  OTEL_SDK_DISABLED=true            no telemetry at all (the benchmark's baseline)
  OTEL_EXPORTER_OTLP_ENDPOINT       collector address [default: http://localhost:4317 (grpc), http://localhost:4318 (http/protobuf)]
  OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_ENDPOINT   per-signal override
  OTEL_EXPORTER_OTLP_PROTOCOL       grpc | http/protobuf [default: grpc]
  OTEL_EXPORTER_OTLP_TIMEOUT        export timeout in ms [default: 10000]
  OTEL_EXPORTER_OTLP_HEADERS        key=value,... sent with every export
  OTEL_SERVICE_NAME                 [default: alertingscout]
  OTEL_RESOURCE_ATTRIBUTES          key=value,... e.g. deployment.environment.name=staging
  OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG   [default: parentbased_always_on]
  OTEL_METRIC_EXPORT_INTERVAL       ms [default: 5000]
  OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE    span export queue
  OTEL_BLRP_SCHEDULE_DELAY, OTEL_BLRP_MAX_QUEUE_SIZE, OTEL_BLRP_MAX_EXPORT_BATCH_SIZE log export queue
  RUST_LOG                          log filter [default: info]

Export path:
  ALERTINGSCOUT_OTLP_EXPORTER       lean | sdk [default: lean]: our lean OTLP exporter, or the
                                    stock one (opentelemetry-otlp over tonic, the SDK's batch
                                    processors, spans through tracing-opentelemetry)";

/// The `alertingscout` command line.
#[derive(Debug, Parser)]
#[command(name = "alertingscout", version, about, after_help = OTEL_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API (the default).
    Serve,
}

/// Settings of the API process.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "ALERTINGSCOUT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// SQLite database file (created with its schema at start).
    #[arg(
        long,
        env = "ALERTINGSCOUT_DATABASE",
        default_value = "alertingscout.sqlite"
    )]
    pub database: PathBuf,

    /// Bearer token for /admin endpoints (fault injection); unset: admin endpoints off.
    #[arg(long, env = "ALERTINGSCOUT_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// JSON log lines on stdout (on/off), beside the OTLP log export.
    #[arg(long, env = "ALERTINGSCOUT_LOG_STDOUT", default_value = "on", value_parser = parse_switch, action = clap::ArgAction::Set, value_name = "on|off")]
    pub log_stdout: bool,

    /// Serve GET /metrics in the Prometheus format (on/off), for running without a Collector.
    #[arg(long, env = "ALERTINGSCOUT_PROMETHEUS_METRICS", default_value = "off", value_parser = parse_switch, action = clap::ArgAction::Set, value_name = "on|off")]
    pub prometheus_metrics: bool,

    /// Largest accepted request body in bytes (larger: 413).
    #[arg(long, env = "ALERTINGSCOUT_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Largest accepted total size of request headers in bytes (larger: 431).
    #[arg(long, env = "ALERTINGSCOUT_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,

    /// Seconds a client may take to send a request's headers (a request line
    /// and headers dribbled slowly hold a connection otherwise); past it the
    /// connection is closed without a response (hyper sends no 408 there).
    /// Also how long an idle keep-alive connection stays open. 0: no limit.
    #[arg(
        long,
        env = "ALERTINGSCOUT_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = 10
    )]
    pub header_read_timeout_seconds: u64,

    /// Seconds a client may take to send a JSON request body (larger: 408 with
    /// a JSON body, and the connection is closed).
    #[arg(
        long,
        env = "ALERTINGSCOUT_BODY_READ_TIMEOUT_SECONDS",
        default_value_t = 10
    )]
    pub body_read_timeout_seconds: u64,

    /// Key of the caller-id pseudonyms in telemetry (HMAC-SHA256; at least 16
    /// characters); unset: a random key per process, so pseudonyms change at restart.
    #[arg(long, env = "ALERTINGSCOUT_PII_KEY", hide_env_values = true)]
    pub pii_key: Option<String>,

    /// Seconds to wait for in-flight requests at shutdown.
    #[arg(
        long,
        env = "ALERTINGSCOUT_SHUTDOWN_GRACE_SECONDS",
        default_value_t = 20
    )]
    pub shutdown_grace_seconds: u64,
}

/// Parses the on/off switches the environment variables use.
pub fn parse_switch(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" | "" => Ok(false),
        other => Err(format!("expected on or off, got {other:?}")),
    }
}

impl Settings {
    /// Settings for tests: a random port on loopback and the given database.
    pub fn for_tests(database: PathBuf) -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database,
            admin_token: None,
            pii_key: None,
            log_stdout: false,
            prometheus_metrics: false,
            max_body_bytes: 64 * 1024,
            max_header_bytes: 16 * 1024,
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 10,
            shutdown_grace_seconds: 5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_parse_on_and_off() {
        assert_eq!(parse_switch("on"), Ok(true));
        assert_eq!(parse_switch("TRUE"), Ok(true));
        assert_eq!(parse_switch("off"), Ok(false));
        assert!(parse_switch("maybe").is_err());
    }

    #[test]
    fn switches_take_on_and_off_values_with_defaults() {
        let cli = Cli::try_parse_from(["alertingscout"]).unwrap();
        assert!(cli.settings.log_stdout);
        assert!(!cli.settings.prometheus_metrics);
        let cli = Cli::try_parse_from([
            "alertingscout",
            "--log-stdout",
            "off",
            "--prometheus-metrics",
            "on",
        ])
        .unwrap();
        assert!(!cli.settings.log_stdout);
        assert!(cli.settings.prometheus_metrics);
        assert!(Cli::try_parse_from(["alertingscout", "--log-stdout", "sometimes"]).is_err());
    }

    #[test]
    fn read_timeouts_default_to_ten_seconds() {
        let cli = Cli::try_parse_from(["alertingscout"]).unwrap();
        assert_eq!(cli.settings.header_read_timeout_seconds, 10);
        assert_eq!(cli.settings.body_read_timeout_seconds, 10);
    }
}
