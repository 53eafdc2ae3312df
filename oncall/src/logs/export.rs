//! Reads every matching log record, past Elasticsearch's 10,000-hit window:
//! a point in time keeps the view fixed while `search_after` pages through it.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::elasticsearch::{Elasticsearch, EsError, PointInTime};
use crate::logs::query::Filters;

/// Hits per page (under the 10,000 window; large pages amortise the round trip).
pub const PAGE: u64 = 5_000;

/// What one export returned: the NDJSON body (one `_source` per line), its
/// line count and SHA-256.
#[derive(Debug, Clone)]
pub struct Export {
    pub body: Vec<u8>,
    pub hits: u64,
    pub sha256: String,
}

/// Hashes and counts NDJSON lines as they are appended.
#[derive(Default)]
pub struct NdjsonBuilder {
    body: Vec<u8>,
    hasher: Sha256,
    hits: u64,
}

impl NdjsonBuilder {
    pub fn push(&mut self, doc: &Value) {
        let start = self.body.len();
        // A Value always serialises.
        let _ = serde_json::to_writer(&mut self.body, doc);
        self.body.push(b'\n');
        self.hasher.update(&self.body[start..]);
        self.hits += 1;
    }

    pub fn finish(self) -> Export {
        Export {
            sha256: crate::operators::hex(&self.hasher.finalize()),
            body: self.body,
            hits: self.hits,
        }
    }
}

/// Every record of `index` matching `filters`, oldest first, at most `filters.limit`.
pub async fn export(es: &Elasticsearch, index: &str, filters: &Filters) -> Result<Export, EsError> {
    let mut pit = es.point_in_time(index).await?;
    let result = pages(&mut pit, filters).await;
    pit.close().await;
    result
}

async fn pages(pit: &mut PointInTime<'_>, filters: &Filters) -> Result<Export, EsError> {
    let mut out = NdjsonBuilder::default();
    let limit = filters.limit.unwrap_or(u64::MAX);
    let query = filters.to_query();
    loop {
        let size = limit.saturating_sub(out.hits).min(PAGE);
        if size == 0 {
            break;
        }
        let hits = pit.next_page(&query, size).await?;
        for hit in &hits {
            out.push(&hit["_source"]);
        }
        if (hits.len() as u64) < size {
            break;
        }
    }
    Ok(out.finish())
}
