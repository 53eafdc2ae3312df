//! The audit trail: one record per query or export, appended with
//! `op_type=create` (the writer's Elasticsearch user may create documents and
//! nothing else), and read back for auditors.

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
    /// `logs.query` or `audit.read`.
    pub action: &'static str,
    pub filters: Value,
    pub hits: u64,
    /// SHA-256 (hex) of the NDJSON body returned.
    pub sha256: String,
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
        }
    }
}

/// Mapping of the audit index (made at `oncall serve` start when missing).
pub fn mapping() -> Value {
    json!({
        "settings": { "number_of_shards": 1, "number_of_replicas": 0 },
        "mappings": {
            "dynamic": false,
            "properties": {
                "@timestamp": { "type": "date" },
                "operator": { "type": "keyword" },
                "role": { "type": "keyword" },
                "action": { "type": "keyword" },
                "filters": { "type": "object", "enabled": false },
                "hits": { "type": "long" },
                "sha256": { "type": "keyword" }
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
    pub index: String,
}

impl AuditTrail {
    /// Creates the index with its mapping unless it exists.
    pub async fn ensure_index(&self) -> Result<(), EsError> {
        match self
            .writer
            .send(reqwest::Method::PUT, &self.index, &[], Some(&mapping()))
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

    /// Appends `record`; its id.
    pub async fn append(&self, record: &AuditRecord) -> Result<String, EsError> {
        let body = serde_json::to_value(record).map_err(|e| EsError::Decode(e.to_string()))?;
        let answer = self
            .writer
            .send(
                reqwest::Method::POST,
                &format!("{}/_doc", self.index),
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
                &format!("{}/_refresh", self.index),
                &[],
                None,
            )
            .await;
        let answer = self.reader.search(&self.index, &body).await?;
        Ok(answer["hits"]["hits"]
            .as_array()
            .map(|hits| hits.iter().map(|h| h["_source"].clone()).collect())
            .unwrap_or_default())
    }
}
