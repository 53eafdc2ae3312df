//! Retention: the daily `logs-alertingscout-*` and `traces-alertingscout-*`
//! indices older than the retention, and the daily audit indices
//! (`alertingscout-audit-*`) older than the audit retention, are deleted by
//! exact name; nothing else is ever a candidate.
//! `oncall serve` runs it on a schedule, `oncall retention run` on demand;
//! every run that deletes something writes one audit record first.
//!
//! `plan` is the pure part (which names, which days), `run` talks to Elasticsearch.

pub mod plan;
pub mod run;

/// Days the daily logs and traces indices are kept (FR-006).
pub const DEFAULT_RETENTION_DAYS: u32 = 14;
/// Days the daily audit indices are kept.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 400;
/// How often `oncall serve` runs it.
pub const DEFAULT_INTERVAL: &str = "1h";
/// The prefixes of the daily indices (`<prefix>-YYYY.MM.DD`, written by the Collector).
pub const DAILY_PREFIXES: [&str; 2] = ["logs-alertingscout", "traces-alertingscout"];
/// The operator named in the audit records of the schedule.
pub const SCHEDULE_OPERATOR: &str = "oncall-serve";
/// The audit record's action.
pub const ACTION: &str = "retention.delete";

use std::time::Duration;

use crate::cli::{RetentionCommand, RetentionRunSettings};
use crate::logs::audit::AuditTrail;

/// Timeout of one Elasticsearch request of `oncall retention run`.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The retention of `oncall retention run`, from its settings.
pub fn from_settings(s: &RetentionRunSettings) -> anyhow::Result<run::Retention> {
    let es = s.elasticsearch.client(TIMEOUT)?;
    let writer = s.audit_elasticsearch.client(&s.elasticsearch, TIMEOUT)?;
    Ok(run::Retention {
        audit: AuditTrail {
            writer,
            reader: es.clone(),
            index: s.audit_index.clone(),
        },
        es,
        prefixes: DAILY_PREFIXES.iter().map(|p| (*p).to_owned()).collect(),
        days: s.policy.retention_days,
        audit_days: s.policy.audit_retention_days,
    })
}

/// `oncall retention run`: prints one line per deletion (or would-be deletion).
pub fn run_command(command: RetentionCommand) -> anyhow::Result<()> {
    let RetentionCommand::Run(s) = command;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let operator = s.operator.clone().unwrap_or_else(|| {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".to_owned());
        format!("local:{user}")
    });
    let retention = from_settings(&s)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async {
        retention
            .run(&operator, "admin", s.dry_run, chrono::Utc::now())
            .await
    })?;
    for line in outcome.lines(s.dry_run) {
        println!("{line}");
    }
    Ok(())
}
