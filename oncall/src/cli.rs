//! The command line: one subcommand per job. Every flag has an `ONCALL_*`
//! environment variable; defaults fit the native stack (`cargo xtask up`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use url::Url;

use crate::elasticsearch::Elasticsearch;

#[derive(Debug, Parser)]
#[command(
    name = "oncall",
    version,
    about = "AlertingScout's on-call server and tools"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The on-call server: receives Alertmanager's webhook, adds the failing
    /// requests of the alert's route, and delivers to the outbox and the chat webhook.
    Serve(Box<ServeSettings>),
    /// Renders every panel of a provisioned Grafana dashboard from the live
    /// Prometheus into one self-contained HTML file (SVG charts, no script).
    Snapshot(SnapshotSettings),
    /// Queries the service's logs through the on-call server (role oncall);
    /// every query leaves one audit record.
    Logs(LogsSettings),
    /// Reads the audit trail of log queries (role auditor).
    Audit(AuditSettings),
    /// Manages the operators file (on the server's host; role admin's job).
    #[command(subcommand)]
    Operators(OperatorsCommand),
    /// Deletes the daily logs/traces indices and audit records past their
    /// retention (`oncall serve` also does it on a schedule).
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Incident bundles through the on-call server (role oncall; audited).
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// What the pipeline stores, measured on the live stack: Elasticsearch
    /// documents and primary-store bytes per request (logs, spans), the log
    /// level and /health shares, Prometheus's active series and bytes per
    /// sample, and a forecast of MB/day and 14-day storage at 10, 100 and
    /// 1,000 requests/s with the effect of each lever (docs/cost.md).
    /// Elasticsearch privileges: `monitor` on the logs and traces indices
    /// (index stats) and `read` (the window's counts): elastic-admin has
    /// both; oncall-reader has `read` only.
    Cost(Box<CostSettings>),
}

#[derive(Debug, Clone, Args)]
pub struct CostSettings {
    /// How far back from now: 30m, 2h, 1d (default 1h).
    #[arg(long, value_parser = since, conflicts_with_all = ["from", "to"])]
    pub since: Option<Since>,
    /// RFC 3339 start of the window, e.g. 2026-12-01T18:00:00Z (with --to).
    #[arg(long, value_parser = rfc3339, requires = "to")]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// RFC 3339 end of the window (with --from).
    #[arg(long, value_parser = rfc3339, requires = "from")]
    pub to: Option<chrono::DateTime<chrono::Utc>>,

    /// Needs `monitor` and `read` on the logs and traces indices, e.g. elastic-admin.
    #[command(flatten)]
    pub elasticsearch: ElasticsearchArgs,

    /// Index pattern of the service's logs.
    #[arg(
        long,
        env = "ONCALL_LOGS_INDEX",
        default_value = "logs-alertingscout-*"
    )]
    pub logs_index: String,

    /// Index pattern of the service's spans.
    #[arg(
        long,
        env = "ONCALL_TRACES_INDEX",
        default_value = "traces-alertingscout-*"
    )]
    pub traces_index: String,

    /// Prometheus (request count, series, storage).
    #[arg(
        long,
        env = "ONCALL_PROMETHEUS_URL",
        default_value = "http://127.0.0.1:9090"
    )]
    pub prometheus_url: Url,

    /// Measure Elasticsearch only: no request count, so no per-request
    /// figures or forecast. Without it an unreachable Prometheus is an error.
    #[arg(long)]
    pub no_prometheus: bool,

    /// table (default) or json (stable keys, for scripts).
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::cost::render::Format,

    /// Timeout of one request to Elasticsearch or Prometheus.
    #[arg(long, env = "ONCALL_COST_TIMEOUT_MS", default_value = "30000", value_parser = millis)]
    pub timeout: Duration,
}

fn rfc3339(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time (e.g. 2026-12-01T18:00:00Z): {e}"))
}

#[derive(Debug, Clone, Subcommand)]
pub enum IncidentCommand {
    /// Writes one directory (or .tar.gz with --archive) with the incident's
    /// logs, spans, metrics (JSON and SVG), alerts, a report and a manifest of
    /// SHA-256 hashes, each file checked against the manifest first. Select by
    /// one of --request-id, --trace-id, --alert-fingerprint, or --route with
    /// --from and --to.
    Export(Box<IncidentExportSettings>),
}

#[derive(Debug, Clone, Args)]
pub struct IncidentExportSettings {
    #[command(flatten)]
    pub client: ClientSettings,
    #[arg(long)]
    pub request_id: Option<String>,
    #[arg(long)]
    pub trace_id: Option<String>,
    /// An alert's fingerprint, as in the outbox (`.stack/oncall/outbox.ndjson`).
    #[arg(long)]
    pub alert_fingerprint: Option<String>,
    /// A route template, e.g. /projects/{project_id}/todos (needs --from and --to).
    #[arg(long)]
    pub route: Option<String>,
    /// RFC 3339 start (bounds any selector; required with --route).
    #[arg(long)]
    pub from: Option<String>,
    /// RFC 3339 end.
    #[arg(long)]
    pub to: Option<String>,
    /// The directory to create (must not exist or be empty); with --archive,
    /// the archive (`.tar.gz` is added when missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Write one .tar.gz instead of a directory.
    #[arg(long)]
    pub archive: bool,
}

/// How long Elasticsearch keeps things (docs/retention.md).
#[derive(Debug, Clone, Args)]
pub struct RetentionPolicy {
    /// Days the daily logs-alertingscout-* and traces-alertingscout-* indices are
    /// kept: at UTC date D the index of day D-N stays, D-(N+1) is deleted.
    #[arg(long, env = "ONCALL_RETENTION_DAYS", default_value_t = crate::retention::DEFAULT_RETENTION_DAYS, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub retention_days: u32,

    /// Days audit records are kept (same day rule, on their @timestamp).
    #[arg(long, env = "ONCALL_AUDIT_RETENTION_DAYS", default_value_t = crate::retention::DEFAULT_AUDIT_RETENTION_DAYS, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub audit_retention_days: u32,
}

#[derive(Debug, Clone, Subcommand)]
pub enum RetentionCommand {
    /// Runs retention now against Elasticsearch (on the server's host, an admin's
    /// job like `oncall operators`) and prints what it deletes; audited.
    Run(Box<RetentionRunSettings>),
}

#[derive(Debug, Clone, Args)]
pub struct RetentionRunSettings {
    /// Prints what would be deleted; deletes and audits nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// The operator named in the audit record (default: local:$USER).
    #[arg(long, env = "ONCALL_RETENTION_OPERATOR")]
    pub operator: Option<String>,

    #[command(flatten)]
    pub policy: RetentionPolicy,

    /// A user that may list and delete the daily indices (audit days: elastic-admin).
    #[command(flatten)]
    pub elasticsearch: ElasticsearchArgs,

    /// The prefix of the daily audit indices (the run's record goes to today's;
    /// days past the audit retention are deleted).
    #[arg(
        long,
        env = "ONCALL_AUDIT_INDEX",
        default_value = "alertingscout-audit"
    )]
    pub audit_index: String,

    #[command(flatten)]
    pub audit_elasticsearch: AuditElasticsearchArgs,
}

/// How often `oncall serve` runs retention; `None` (0 or off) disables it.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval(pub Option<Duration>);

fn interval(text: &str) -> Result<Interval, String> {
    match text.trim() {
        "0" | "off" | "" => Ok(Interval(None)),
        t => crate::snapshot::parse_since(t).map(|d| Interval(Some(d))),
    }
}

/// Where the on-call server is and which token to show it.
#[derive(Debug, Clone, Args)]
pub struct ClientSettings {
    /// The on-call server.
    #[arg(long, env = "ONCALL_URL", default_value = "http://127.0.0.1:9095")]
    pub server: Url,

    /// The token file, read when ONCALL_TOKEN is unset.
    #[arg(
        long,
        env = "ONCALL_TOKEN_FILE",
        default_value = ".stack/secrets/oncall-admin-token"
    )]
    pub token_file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct LogsSettings {
    #[command(flatten)]
    pub client: ClientSettings,
    #[arg(long)]
    pub request_id: Option<String>,
    #[arg(long)]
    pub trace_id: Option<String>,
    /// RFC 3339 start, e.g. 2026-12-01T18:00:00Z.
    #[arg(long, conflicts_with = "since")]
    pub from: Option<String>,
    /// RFC 3339 end.
    #[arg(long)]
    pub to: Option<String>,
    /// How far back from now: 30m, 2h, 1d.
    #[arg(long)]
    pub since: Option<String>,
    /// trace, debug, info, warn or error.
    #[arg(long)]
    pub level: Option<String>,
    /// A route template, e.g. /projects/{project_id}/todos.
    #[arg(long)]
    pub route: Option<String>,
    /// A status code (404) or class (5xx).
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub project_id: Option<String>,
    /// The raw user id: hashed with the pseudonym key before it leaves this process.
    #[arg(long)]
    pub user_id: Option<String>,
    /// At most this many records.
    #[arg(long)]
    pub limit: Option<u64>,
    /// table (default on a terminal), ndjson (default otherwise) or csv.
    #[arg(long, value_enum)]
    pub format: Option<crate::logs::render::Format>,
    /// The pseudonym key file, read when ALERTINGSCOUT_PII_KEY is unset.
    #[arg(
        long,
        env = "ONCALL_PII_KEY_FILE",
        default_value = ".stack/secrets/pii-key"
    )]
    pub pii_key_file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct AuditSettings {
    #[command(flatten)]
    pub client: ClientSettings,
    /// Only this operator's records.
    #[arg(long)]
    pub operator: Option<String>,
    /// How far back from now: 30m, 2h, 1d.
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many records, newest first.
    #[arg(long, default_value = "1000")]
    pub size: u64,
}

#[derive(Debug, Clone, Subcommand)]
pub enum OperatorsCommand {
    /// Adds (or replaces) an operator with a fresh token, printed once (or
    /// written 0600 to --token-file); only its SHA-256 is kept.
    Add {
        name: String,
        #[arg(long)]
        role: crate::operators::Role,
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Use this token instead of a fresh one (`cargo xtask up` passes the
        /// admin token it keeps in .stack/secrets/oncall-admin-token).
        #[arg(long, env = "ONCALL_NEW_TOKEN", hide_env_values = true)]
        token: Option<String>,
        #[arg(
            long,
            env = "ONCALL_OPERATORS",
            default_value = ".stack/oncall/operators.toml"
        )]
        operators: PathBuf,
    },
    /// Lists the operators and their roles.
    List {
        #[arg(
            long,
            env = "ONCALL_OPERATORS",
            default_value = ".stack/oncall/operators.toml"
        )]
        operators: PathBuf,
    },
    /// Removes an operator.
    Remove {
        name: String,
        #[arg(
            long,
            env = "ONCALL_OPERATORS",
            default_value = ".stack/oncall/operators.toml"
        )]
        operators: PathBuf,
    },
}

#[derive(Debug, Clone, Args)]
pub struct SnapshotSettings {
    /// The dashboard's uid, e.g. alertingscout-api.
    #[arg(long)]
    pub dashboard: String,

    /// How far back from now: 30m, 2h, 1d, 1h30m.
    #[arg(long, default_value = "30m", value_parser = since)]
    pub since: Since,

    /// The HTML file to write.
    #[arg(long)]
    pub out: PathBuf,

    /// Prometheus to query.
    #[arg(
        long,
        env = "ONCALL_PROMETHEUS_URL",
        default_value = "http://127.0.0.1:9090"
    )]
    pub prometheus: Url,

    /// Where the provisioned dashboards are (every *.json under it).
    #[arg(long, env = "ONCALL_DASHBOARDS", default_value = "grafana/dashboards")]
    pub dashboards: PathBuf,

    /// A variable's value, NAME=VALUE (repeat for several values; VALUE All for All).
    /// Unset variables take the dashboard's saved value.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = variable)]
    pub vars: Vec<(String, String)>,

    /// Grafana, for the panels' relative links (compose.yml runs it on :3000).
    #[arg(
        long,
        env = "ONCALL_GRAFANA_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    pub grafana_url: Url,
}

/// `--since` as typed (shown in the page) and as a duration.
#[derive(Debug, Clone, PartialEq)]
pub struct Since {
    pub text: String,
    pub duration: Duration,
}

fn since(text: &str) -> Result<Since, String> {
    crate::snapshot::parse_since(text).map(|duration| Since {
        text: text.trim().to_owned(),
        duration,
    })
}

fn variable(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    /// Address to listen on (Alertmanager posts to /webhook/alertmanager).
    #[arg(long, env = "ONCALL_LISTEN", default_value = "127.0.0.1:9095")]
    pub listen: SocketAddr,

    /// Elasticsearch holding the service's logs, as the log reader.
    #[command(flatten)]
    pub elasticsearch: ElasticsearchArgs,

    /// Index pattern of the service's logs.
    #[arg(
        long,
        env = "ONCALL_LOGS_INDEX",
        default_value = "logs-alertingscout-*"
    )]
    pub logs_index: String,

    /// Kibana, for the Discover links of the example requests (compose.yml runs it).
    #[arg(
        long,
        env = "ONCALL_KIBANA_URL",
        default_value = "http://127.0.0.1:5601"
    )]
    pub kibana_url: Url,

    /// The append-only outbox: one JSON notification per line.
    #[arg(
        long,
        env = "ONCALL_OUTBOX",
        default_value = ".stack/oncall/outbox.ndjson"
    )]
    pub outbox: PathBuf,

    /// A Slack-compatible incoming-webhook URL; unset or empty: the outbox only.
    #[arg(long, env = "ONCALL_SLACK_WEBHOOK_URL", value_parser = optional_url)]
    pub slack_webhook_url: Option<OptionalUrl>,

    /// How long the example lookup may take before the notification goes out without.
    #[arg(long, env = "ONCALL_EXAMPLES_TIMEOUT_MS", default_value = "3000", value_parser = millis)]
    pub examples_timeout: Duration,

    /// Example requests per notification.
    #[arg(long, env = "ONCALL_EXAMPLES", default_value = "5")]
    pub examples: usize,

    /// Attempts per delivery target before it counts as failed.
    #[arg(long, env = "ONCALL_DELIVERY_ATTEMPTS", default_value = "4", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub delivery_attempts: u32,

    /// Wait before the first retry; doubles per attempt.
    #[arg(long, env = "ONCALL_DELIVERY_BACKOFF_MS", default_value = "500", value_parser = millis)]
    pub delivery_backoff: Duration,

    /// Timeout of one delivery attempt.
    #[arg(long, env = "ONCALL_DELIVERY_TIMEOUT_MS", default_value = "5000", value_parser = millis)]
    pub delivery_timeout: Duration,

    /// The operators of the log API (name, role, token SHA-256), read at every request.
    #[arg(
        long,
        env = "ONCALL_OPERATORS",
        default_value = ".stack/oncall/operators.toml"
    )]
    pub operators: PathBuf,

    /// The prefix of the daily audit indices `<prefix>-YYYY.MM.DD` (create-only writes).
    #[arg(
        long,
        env = "ONCALL_AUDIT_INDEX",
        default_value = "alertingscout-audit"
    )]
    pub audit_index: String,

    /// The audit trail's create-only writer.
    #[command(flatten)]
    pub audit_elasticsearch: AuditElasticsearchArgs,

    /// Timeout of one Elasticsearch request of the log API.
    #[arg(long, env = "ONCALL_LOGS_TIMEOUT_MS", default_value = "30000", value_parser = millis)]
    pub logs_timeout: Duration,

    /// Index pattern of the service's spans (incident bundles).
    #[arg(
        long,
        env = "ONCALL_TRACES_INDEX",
        default_value = "traces-alertingscout-*"
    )]
    pub traces_index: String,

    /// Prometheus, for the metrics and alerts of incident bundles.
    #[arg(
        long,
        env = "ONCALL_PROMETHEUS_URL",
        default_value = "http://127.0.0.1:9090"
    )]
    pub prometheus_url: Url,

    /// The least role that may export incident bundles: oncall (the default:
    /// every operator, as the issue asks), or auditor/admin to keep bulk
    /// exports to fewer people.
    #[arg(long, env = "ONCALL_INCIDENT_ROLE", default_value = "oncall")]
    pub incident_role: crate::operators::Role,

    /// Grafana, for the dashboard link of incident reports.
    #[arg(
        long,
        env = "ONCALL_GRAFANA_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    pub grafana_url: Url,

    #[command(flatten)]
    pub retention: RetentionPolicy,

    /// Elasticsearch user of the retention schedule (lists and deletes the daily
    /// logs and traces indices; unset: the log reader's credentials).
    #[arg(
        long,
        env = "ONCALL_RETENTION_ELASTICSEARCH_USER",
        hide_env_values = true
    )]
    pub retention_elasticsearch_user: Option<String>,

    /// Its password.
    #[arg(
        long,
        env = "ONCALL_RETENTION_ELASTICSEARCH_PASSWORD",
        hide_env_values = true
    )]
    pub retention_elasticsearch_password: Option<String>,

    /// How often retention runs (first at start): 1h, 30m, 10s; 0 or off disables it.
    #[arg(long, env = "ONCALL_RETENTION_INTERVAL", default_value = crate::retention::DEFAULT_INTERVAL, value_parser = interval)]
    pub retention_interval: Interval,
}

/// Elasticsearch and the user oncall logs in as (ONCALL_ELASTICSEARCH_*; no user:
/// no authentication, for an Elasticsearch without security).
#[derive(Debug, Clone, Args)]
pub struct ElasticsearchArgs {
    #[arg(
        long = "elasticsearch-url",
        id = "elasticsearch_url",
        value_name = "URL",
        env = "ONCALL_ELASTICSEARCH_URL",
        default_value = "http://127.0.0.1:9200"
    )]
    pub url: Url,

    /// Elasticsearch user (docs/security.md, "Elasticsearch users").
    #[arg(
        long = "elasticsearch-user",
        id = "elasticsearch_user",
        value_name = "USER",
        env = "ONCALL_ELASTICSEARCH_USER",
        hide_env_values = true
    )]
    pub user: Option<String>,

    /// Its password.
    #[arg(
        long = "elasticsearch-password",
        id = "elasticsearch_password",
        value_name = "PASSWORD",
        env = "ONCALL_ELASTICSEARCH_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
}

impl ElasticsearchArgs {
    /// A client logged in as the user.
    pub fn client(&self, timeout: Duration) -> anyhow::Result<Elasticsearch> {
        Ok(Elasticsearch::new(self.url.clone(), timeout)?
            .with_credentials(self.user.clone(), self.password.clone()))
    }
}

/// The audit trail's Elasticsearch and its create-only writer
/// (ONCALL_AUDIT_ELASTICSEARCH_*).
#[derive(Debug, Clone, Args)]
pub struct AuditElasticsearchArgs {
    /// Elasticsearch of the audit trail (default: --elasticsearch-url).
    #[arg(
        long = "audit-elasticsearch-url",
        id = "audit_elasticsearch_url",
        value_name = "URL",
        env = "ONCALL_AUDIT_ELASTICSEARCH_URL",
        value_parser = optional_url
    )]
    pub url: Option<OptionalUrl>,

    /// Elasticsearch user of the audit writer (create_doc on the audit indices only).
    #[arg(
        long = "audit-elasticsearch-user",
        id = "audit_elasticsearch_user",
        value_name = "USER",
        env = "ONCALL_AUDIT_ELASTICSEARCH_USER",
        hide_env_values = true
    )]
    pub user: Option<String>,

    /// Its password.
    #[arg(
        long = "audit-elasticsearch-password",
        id = "audit_elasticsearch_password",
        value_name = "PASSWORD",
        env = "ONCALL_AUDIT_ELASTICSEARCH_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
}

impl AuditElasticsearchArgs {
    /// A client of the audit trail: its own URL or `default`, as its own user.
    pub fn client(
        &self,
        default: &ElasticsearchArgs,
        timeout: Duration,
    ) -> anyhow::Result<Elasticsearch> {
        let url = self
            .url
            .as_ref()
            .and_then(|u| u.0.clone())
            .unwrap_or_else(|| default.url.clone());
        Ok(Elasticsearch::new(url, timeout)?
            .with_credentials(self.user.clone(), self.password.clone()))
    }
}

/// A URL, or nothing when empty (compose passes `${VAR:-}` through as "").
#[derive(Debug, Clone, PartialEq)]
pub struct OptionalUrl(pub Option<Url>);

fn optional_url(text: &str) -> Result<OptionalUrl, String> {
    if text.trim().is_empty() {
        return Ok(OptionalUrl(None));
    }
    Url::parse(text)
        .map(|u| OptionalUrl(Some(u)))
        .map_err(|e| format!("not a URL: {e}"))
}

impl ServeSettings {
    pub fn slack_webhook(&self) -> Option<&Url> {
        self.slack_webhook_url.as_ref().and_then(|u| u.0.as_ref())
    }
}

fn millis(text: &str) -> Result<Duration, String> {
    text.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("{text:?} is not a whole number of milliseconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fit_the_native_stack() {
        let cli = Cli::try_parse_from(["oncall", "serve"]).expect("defaults parse");
        let Command::Serve(s) = cli.command else {
            panic!("serve")
        };
        assert_eq!(s.listen.port(), 9095);
        assert_eq!(s.outbox, PathBuf::from(".stack/oncall/outbox.ndjson"));
        assert!(s.slack_webhook().is_none());
        assert_eq!(s.delivery_attempts, 4);
        assert_eq!(s.retention.retention_days, 14);
        assert_eq!(s.retention.audit_retention_days, 400);
        assert_eq!(
            s.retention_interval,
            Interval(Some(Duration::from_secs(3600)))
        );
    }

    #[test]
    fn retention_settings_parse() {
        for off in ["0", "off"] {
            let cli = Cli::try_parse_from(["oncall", "serve", "--retention-interval", off])
                .expect("off parses");
            let Command::Serve(s) = cli.command else {
                panic!("serve")
            };
            assert_eq!(s.retention_interval, Interval(None));
        }
        assert!(Cli::try_parse_from(["oncall", "serve", "--retention-interval", "soon"]).is_err());
        assert!(Cli::try_parse_from(["oncall", "serve", "--retention-days", "0"]).is_err());
        let cli = Cli::try_parse_from([
            "oncall",
            "retention",
            "run",
            "--dry-run",
            "--retention-days",
            "7",
        ])
        .expect("parses");
        let Command::Retention(RetentionCommand::Run(r)) = cli.command else {
            panic!("retention run")
        };
        assert!(r.dry_run);
        assert_eq!(r.policy.retention_days, 7);
        assert_eq!(r.policy.audit_retention_days, 400);
        assert_eq!(r.audit_index, "alertingscout-audit");
    }

    #[test]
    fn an_empty_webhook_url_means_none() {
        let cli = Cli::try_parse_from(["oncall", "serve", "--slack-webhook-url", ""])
            .expect("empty is unset");
        let Command::Serve(s) = cli.command else {
            panic!("serve")
        };
        assert!(s.slack_webhook().is_none());
        let cli = Cli::try_parse_from([
            "oncall",
            "serve",
            "--slack-webhook-url",
            "http://127.0.0.1:1/hook",
        ])
        .expect("a URL");
        let Command::Serve(s) = cli.command else {
            panic!("serve")
        };
        assert_eq!(
            s.slack_webhook().map(Url::as_str),
            Some("http://127.0.0.1:1/hook")
        );
        assert!(Cli::try_parse_from(["oncall", "serve", "--slack-webhook-url", "nope"]).is_err());
    }

    #[test]
    fn bad_values_name_the_flag() {
        let err = Cli::try_parse_from(["oncall", "serve", "--delivery-attempts", "0"])
            .expect_err("0 attempts is refused");
        assert!(err.to_string().contains("--delivery-attempts"), "{err}");
        let err = Cli::try_parse_from(["oncall", "serve", "--examples-timeout-ms", "soon"])
            .expect_err("not a number");
        assert!(err.to_string().contains("--examples-timeout-ms"), "{err}");
    }

    #[test]
    fn incident_export_flags_parse_and_serve_knows_where_prometheus_is() {
        let cli = Cli::try_parse_from([
            "oncall",
            "incident",
            "export",
            "--route",
            "/projects/{project_id}",
            "--from",
            "2026-12-01T10:00:00Z",
            "--to",
            "2026-12-01T11:00:00Z",
            "--out",
            "inc",
            "--archive",
        ])
        .expect("parses");
        let Command::Incident(IncidentCommand::Export(s)) = cli.command else {
            panic!("incident export")
        };
        assert_eq!(s.route.as_deref(), Some("/projects/{project_id}"));
        assert!(s.archive);
        assert_eq!(s.out, PathBuf::from("inc"));
        assert!(
            Cli::try_parse_from(["oncall", "incident", "export", "--request-id", "a"]).is_err()
        );
        let cli = Cli::try_parse_from(["oncall", "serve"]).expect("defaults parse");
        let Command::Serve(s) = cli.command else {
            panic!("serve")
        };
        assert_eq!(s.prometheus_url.as_str(), "http://127.0.0.1:9090/");
        assert_eq!(s.traces_index, "traces-alertingscout-*");
        assert_eq!(s.incident_role, crate::operators::Role::Oncall);
        assert!(Cli::try_parse_from(["oncall", "serve", "--incident-role", "viewer"]).is_err());
    }

    #[test]
    fn cost_flags_parse_and_bad_ones_are_named() {
        let cli = Cli::try_parse_from(["oncall", "cost"]).expect("defaults parse");
        let Command::Cost(s) = cli.command else {
            panic!("cost")
        };
        assert!(s.since.is_none() && s.from.is_none() && !s.no_prometheus);
        assert_eq!(s.logs_index, "logs-alertingscout-*");
        assert_eq!(s.traces_index, "traces-alertingscout-*");
        assert_eq!(s.format, crate::cost::render::Format::Table);
        let now = chrono::Utc::now();
        let (from, to) = crate::cost::window(&s, now).expect("1h");
        assert_eq!((to - from).num_seconds(), 3600);
        assert_eq!(to, now);

        let cli = Cli::try_parse_from([
            "oncall",
            "cost",
            "--from",
            "2026-12-01T10:00:00Z",
            "--to",
            "2026-12-01T10:30:00+00:00",
            "--format",
            "json",
            "--no-prometheus",
            "--logs-index",
            "logs-x-*",
        ])
        .expect("parses");
        let Command::Cost(s) = cli.command else {
            panic!("cost")
        };
        let (from, to) = crate::cost::window(&s, chrono::Utc::now()).expect("window");
        assert_eq!((to - from).num_seconds(), 1800);
        assert_eq!(s.logs_index, "logs-x-*");

        for (args, flag) in [
            (&["--since", "30"][..], "--since"),
            (
                &["--from", "yesterday", "--to", "2026-12-01T10:00:00Z"][..],
                "--from",
            ),
            (&["--from", "2026-12-01T10:00:00Z"][..], "--to"),
            (
                &[
                    "--since",
                    "1h",
                    "--from",
                    "2026-12-01T10:00:00Z",
                    "--to",
                    "2026-12-01T11:00:00Z",
                ][..],
                "--since",
            ),
            (&["--format", "xml"][..], "--format"),
        ] {
            let err =
                Cli::try_parse_from(["oncall", "cost"].iter().chain(args)).expect_err("refused");
            assert!(err.to_string().contains(flag), "{args:?}: {err}");
        }
        let cli = Cli::try_parse_from([
            "oncall",
            "cost",
            "--from",
            "2026-12-01T11:00:00Z",
            "--to",
            "2026-12-01T10:00:00Z",
        ])
        .expect("parses");
        let Command::Cost(s) = cli.command else {
            panic!("cost")
        };
        let err = crate::cost::window(&s, chrono::Utc::now()).expect_err("backwards");
        assert!(err.to_string().contains("--from"), "{err}");
    }

    #[test]
    fn snapshot_flags_parse_with_stack_defaults() {
        let cli = Cli::try_parse_from([
            "oncall",
            "snapshot",
            "--dashboard",
            "alertingscout-api",
            "--since",
            "2h",
            "--out",
            "api.html",
            "--var",
            "route=/projects/{id}",
            "--var",
            "method=All",
        ])
        .expect("parses");
        let Command::Snapshot(s) = cli.command else {
            panic!("snapshot")
        };
        assert_eq!(s.since.duration, Duration::from_secs(7200));
        assert_eq!(s.since.text, "2h");
        assert_eq!(s.prometheus.as_str(), "http://127.0.0.1:9090/");
        assert_eq!(s.dashboards, PathBuf::from("grafana/dashboards"));
        assert_eq!(
            s.vars,
            vec![
                ("route".to_owned(), "/projects/{id}".to_owned()),
                ("method".to_owned(), "All".to_owned())
            ]
        );
        let err = Cli::try_parse_from([
            "oncall",
            "snapshot",
            "--dashboard",
            "x",
            "--out",
            "x",
            "--since",
            "30",
        ])
        .expect_err("no unit");
        assert!(err.to_string().contains("--since"), "{err}");
        assert!(Cli::try_parse_from([
            "oncall",
            "snapshot",
            "--dashboard",
            "x",
            "--out",
            "x",
            "--var",
            "novalue",
        ])
        .is_err());
    }
}
