//! The audit trail: one record per query or export, appended with
//! `op_type=create` (the writer's Elasticsearch user may create documents and
//! the day's index, nothing else), and read back for auditors.
//!
//! Records go to daily indices `<index>-YYYY.MM.DD` (the record's UTC day), so
//! the trail stays append-only: retention drops whole days past the audit
//! retention (`crate::retention`) and never edits or deletes a record.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::elasticsearch::{Elasticsearch, EsError};
use crate::operators::Operator;

/// One audit record.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    #[serde(rename = "@timestamp")]
    pub timestamp: DateTime<Utc>,
    pub operator: String,
    pub role: &'static str,
    /// `logs.query`, `audit.read`, `retention.delete` or `incident.export`.
    pub action: &'static str,
    pub filters: Value,
    pub hits: u64,
    /// SHA-256 (hex) of the NDJSON body returned (of the manifest, for an
    /// incident export: it holds every file's hash).
    pub sha256: String,
    /// What an incident export held, by kind (logs, spans, requests, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Value>,
}

impl AuditRecord {
    pub fn new(
        op: &Operator,
        action: &'static str,
        filters: Value,
        hits: u64,
        sha256: String,
    ) -> Self {
        AuditRecord {
            timestamp: Utc::now(),
            operator: op.name.clone(),
            role: op.role.as_str(),
            action,
            filters,
            hits,
            sha256,
            counts: None,
        }
    }

    pub fn with_counts(mut self, counts: Value) -> Self {
        self.counts = Some(counts);
        self
    }
}

/// Mapping of a daily audit index (made before the day's first record). One replica
/// wherever a second node exists, none on a single node (which stays green): on a
/// cluster a dead node must not take the audit trail, and with it every log read, away.
pub fn mapping() -> Value {
    json!({
        "settings": { "number_of_shards": 1, "auto_expand_replicas": "0-1" },
        "mappings": {
            "dynamic": false,
            "properties": {
                "@timestamp": { "type": "date" },
                "operator": { "type": "keyword" },
                "role": { "type": "keyword" },
                "action": { "type": "keyword" },
                "filters": { "type": "object", "enabled": false },
                "hits": { "type": "long" },
                "sha256": { "type": "keyword" },
                "counts": { "type": "object", "enabled": false }
            }
        }
    })
}

#[derive(Debug, Clone)]
pub struct AuditTrail {
    /// The create-only writer.
    pub writer: Elasticsearch,
    /// The reader (the log reader's credentials).
    pub reader: Elasticsearch,
    /// The prefix of the daily indices (`ONCALL_AUDIT_INDEX`).
    pub index: String,
}

impl AuditTrail {
    /// The daily index of a record made at `at`.
    pub fn day_index(&self, at: DateTime<Utc>) -> String {
        format!("{}-{}", self.index, at.format("%Y.%m.%d"))
    }

    /// What the reader searches: the daily indices, and the single index of
    /// earlier versions (`<index>` itself) when it is still there.
    pub fn pattern(&self) -> String {
        format!("{0}-*,{0}", self.index)
    }

    /// Creates today's index with its mapping unless it exists (at `oncall serve` start).
    pub async fn ensure_index(&self) -> Result<(), EsError> {
        self.ensure_day(&self.day_index(Utc::now())).await
    }

    /// Creates `index` with the mapping unless it exists.
    async fn ensure_day(&self, index: &str) -> Result<(), EsError> {
        match self
            .writer
            .send(reqwest::Method::PUT, index, &[], Some(&mapping()))
            .await
        {
            Ok(_) => Ok(()),
            Err(EsError::Status { status: 400, body })
                if body.contains("resource_already_exists") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Appends `record` to its day's index (made first, with the mapping, when
    /// missing: a dynamic mapping must never decide the audit fields); its id.
    pub async fn append(&self, record: &AuditRecord) -> Result<String, EsError> {
        let body = serde_json::to_value(record).map_err(|e| EsError::Decode(e.to_string()))?;
        let index = self.day_index(record.timestamp);
        self.ensure_day(&index).await?;
        let answer = self
            .writer
            .send(
                reqwest::Method::POST,
                &format!("{index}/_doc"),
                &[("op_type", "create")],
                Some(&body),
            )
            .await?;
        answer
            .get("_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| EsError::Decode("no _id in the create answer".into()))
    }

    /// Records newest first, at most `size`, optionally of one operator and after `from`.
    pub async fn read(
        &self,
        operator: Option<&str>,
        from: Option<DateTime<Utc>>,
        size: u64,
    ) -> Result<Vec<Value>, EsError> {
        let mut filter = Vec::new();
        if let Some(op) = operator {
            filter.push(json!({ "term": { "operator": op } }));
        }
        if let Some(f) = from {
            filter.push(json!({ "range": { "@timestamp": { "gte": f.to_rfc3339() } } }));
        }
        let body = json!({
            "size": size,
            "sort": [{ "@timestamp": "desc" }],
            "query": { "bool": { "filter": filter } },
            "track_total_hits": false
        });
        // Records become searchable at the index's refresh (1 s); an audit read
        // is rare, so it asks for one first (best effort: the reader may lack the right).
        let _ = self
            .reader
            .send(
                reqwest::Method::POST,
                &format!("{}/_refresh", self.pattern()),
                &[("ignore_unavailable", "true"), ("allow_no_indices", "true")],
                None,
            )
            .await;
        let answer = self.reader.search(&self.pattern(), &body).await?;
        Ok(answer["hits"]["hits"]
            .as_array()
            .map(|hits| hits.iter().map(|h| h["_source"].clone()).collect())
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_go_to_their_utc_day_and_reads_cover_every_day() {
        let es = Elasticsearch::new(
            url::Url::parse("http://127.0.0.1:9").expect("url"),
            std::time::Duration::from_secs(1),
        )
        .expect("client");
        let trail = AuditTrail {
            writer: es.clone(),
            reader: es,
            index: "alertingscout-audit".into(),
        };
        let at = DateTime::parse_from_rfc3339("2026-12-31T23:59:59-01:00")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(trail.day_index(at), "alertingscout-audit-2027.01.01");
        assert_eq!(trail.pattern(), "alertingscout-audit-*,alertingscout-audit");
    }

    #[test]
    fn an_audit_index_keeps_a_copy_on_a_second_node_when_there_is_one() {
        let settings = &mapping()["settings"];
        // Not a fixed count: 1 would leave a single node yellow, 0 a cluster exposed.
        assert_eq!(settings["auto_expand_replicas"], "0-1");
        assert!(settings.get("number_of_replicas").is_none(), "{settings}");
    }
}
