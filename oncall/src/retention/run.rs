//! One retention run against Elasticsearch: list the indices, plan, write the
//! audit record, then delete each expired index by its exact name. A failed
//! audit write stops the run before anything is deleted.

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::elasticsearch::Elasticsearch;
use crate::logs::audit::{AuditRecord, AuditTrail};
use crate::retention::plan;
use crate::retention::ACTION;

/// What a run removes, and how long things are kept.
#[derive(Debug, Clone)]
pub struct Retention {
    /// Lists and deletes the indices.
    pub es: Elasticsearch,
    /// Where the run is recorded; its daily indices (`<index>-YYYY.MM.DD`)
    /// are kept `audit_days`.
    pub audit: AuditTrail,
    /// The daily logs and traces indices (`<prefix>-YYYY.MM.DD`), kept `days`.
    pub prefixes: Vec<String>,
    pub days: u32,
    pub audit_days: u32,
}

/// The outcome of a run (or what a dry run would do).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The expired indices, sorted (deleted, or to delete).
    pub indices: Vec<String>,
    /// The run's audit record, when it deleted something.
    pub audit_id: Option<String>,
}

impl Outcome {
    /// The lines `oncall retention run` prints.
    pub fn lines(&self, dry_run: bool) -> Vec<String> {
        let verb = if dry_run { "would delete" } else { "deleted" };
        let mut lines: Vec<String> = self
            .indices
            .iter()
            .map(|i| format!("{verb} index {i}"))
            .collect();
        if self.indices.is_empty() {
            lines.push("nothing past the retention".to_owned());
        }
        if let Some(id) = &self.audit_id {
            lines.push(format!("audit record {id}"));
        }
        lines
    }
}

impl Retention {
    /// Every index name on the server (hidden and closed ones included: the
    /// plan, not the listing, decides what is a candidate).
    async fn index_names(&self) -> anyhow::Result<Vec<String>> {
        let answer = self
            .es
            .send(
                reqwest::Method::GET,
                "_cat/indices",
                &[
                    ("format", "json"),
                    ("h", "index"),
                    ("expand_wildcards", "all"),
                ],
                None,
            )
            .await
            .context("listing the indices")?;
        Ok(answer
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| r["index"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The expired indices at `now`: the daily logs/traces past `days`, the
    /// daily audit indices past `audit_days`.
    pub async fn plan(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<String>> {
        if self.prefixes.contains(&self.audit.index) {
            bail!(
                "the audit index prefix {:?} is also a logs/traces prefix; refusing to guess its retention",
                self.audit.index
            );
        }
        let today = now.date_naive();
        let names = self.index_names().await?;
        let names = || names.iter().map(String::as_str);
        let prefixes: Vec<&str> = self.prefixes.iter().map(String::as_str).collect();
        let mut indices = plan::expired_indices(names(), &prefixes, today, self.days);
        indices.extend(plan::expired_indices(
            names(),
            &[self.audit.index.as_str()],
            today,
            self.audit_days,
        ));
        indices.sort();
        indices.dedup();
        Ok(indices)
    }

    /// Plans, then (unless `dry_run`) audits and deletes. `operator` and `role`
    /// name who ran it in the audit record.
    pub async fn run(
        &self,
        operator: &str,
        role: &'static str,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Outcome> {
        let indices = self.plan(now).await?;
        if dry_run || indices.is_empty() {
            tracing::info!(dry_run, indices = ?indices, "retention: nothing deleted");
            return Ok(Outcome {
                indices,
                audit_id: None,
            });
        }
        let digest: String = Sha256::digest(indices.join("\n").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let record = AuditRecord {
            timestamp: now,
            operator: operator.to_owned(),
            role,
            action: ACTION,
            filters: json!({
                "indices": indices,
                "retention_days": self.days,
                "audit_retention_days": self.audit_days,
            }),
            hits: indices.len() as u64,
            sha256: digest,
            counts: None,
        };
        let id = match self.audit.append(&record).await {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(error = %e, operator, "retention: audit write failed; nothing deleted");
                bail!("the audit record could not be written, so nothing was deleted: {e}");
            }
        };
        let mut failed = Vec::new();
        for index in &indices {
            // The plan only lets `<prefix>-YYYY.MM.DD` through: an exact name, no wildcard.
            match self
                .es
                .send(
                    reqwest::Method::DELETE,
                    index,
                    &[("expand_wildcards", "none")],
                    None,
                )
                .await
            {
                Ok(_) => {
                    tracing::info!(index = %index, operator, audit_id = %id, "retention: index deleted")
                }
                Err(e) => {
                    tracing::error!(index = %index, error = %e, "retention: index not deleted");
                    failed.push(format!("{index}: {e}"));
                }
            }
        }
        if !failed.is_empty() {
            bail!(
                "retention: {} deletion(s) failed (audit record {id}): {}",
                failed.len(),
                failed.join("; ")
            );
        }
        Ok(Outcome {
            indices,
            audit_id: Some(id),
        })
    }
}
