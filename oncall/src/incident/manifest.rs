//! `manifest.json`: each file's SHA-256 and size, the query behind it, who
//! exported the bundle and when. The server builds it over the exact bytes it
//! sends; the client checks every file it received against it before writing
//! anything, so a cut or altered answer never becomes a bundle.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::BundleFile;

/// The manifest's own path in the bundle.
pub const MANIFEST_PATH: &str = "manifest.json";
/// Bumped when the bundle's layout changes incompatibly.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exporter {
    pub operator: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    /// The Elasticsearch or Prometheus query (or the inputs) the file comes from.
    pub query: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub exported_at: DateTime<Utc>,
    pub exported_by: Exporter,
    /// The selector as checked (`request_id`, `trace_id`, ...; `from`, `to`).
    pub selector: Value,
    /// The incident's window (the metrics add 30 minutes either side).
    pub window: Window,
    pub counts: BTreeMap<String, u64>,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::operators::hex(&Sha256::digest(bytes))
}

impl Manifest {
    /// The entries of `files`, in their order.
    pub fn entries(files: &[BundleFile]) -> Vec<FileEntry> {
        files
            .iter()
            .map(|f| FileEntry {
                path: f.path.clone(),
                sha256: sha256_hex(&f.bytes),
                size: f.bytes.len() as u64,
                query: f.query.clone(),
            })
            .collect()
    }

    /// Pretty JSON with a final newline; its SHA-256 is what the audit record keeps.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings, numbers and Values always serialises.
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VerifyError {
    #[error("{0} is in the manifest but was not received")]
    Missing(String),
    #[error("{0} was received but is not in the manifest")]
    Unlisted(String),
    #[error("{path}: {size} bytes received, the manifest says {expected}")]
    Size {
        path: String,
        size: u64,
        expected: u64,
    },
    #[error("{path}: SHA-256 {sha256} received, the manifest says {expected}")]
    Hash {
        path: String,
        sha256: String,
        expected: String,
    },
    #[error("{0} appears twice")]
    Duplicate(String),
}

/// Every received file is listed, every listed file received, with its size and hash.
pub fn verify(manifest: &Manifest, received: &[(String, Vec<u8>)]) -> Result<(), VerifyError> {
    let mut got: BTreeMap<&str, &[u8]> = BTreeMap::new();
    for (path, bytes) in received {
        if got.insert(path.as_str(), bytes.as_slice()).is_some() {
            return Err(VerifyError::Duplicate(path.clone()));
        }
    }
    let mut listed = std::collections::BTreeSet::new();
    for entry in &manifest.files {
        if !listed.insert(entry.path.as_str()) {
            return Err(VerifyError::Duplicate(entry.path.clone()));
        }
        let Some(bytes) = got.get(entry.path.as_str()) else {
            return Err(VerifyError::Missing(entry.path.clone()));
        };
        if bytes.len() as u64 != entry.size {
            return Err(VerifyError::Size {
                path: entry.path.clone(),
                size: bytes.len() as u64,
                expected: entry.size,
            });
        }
        let sha256 = sha256_hex(bytes);
        if sha256 != entry.sha256 {
            return Err(VerifyError::Hash {
                path: entry.path.clone(),
                sha256,
                expected: entry.sha256.clone(),
            });
        }
    }
    if let Some(extra) = got.keys().find(|p| !listed.contains(*p)) {
        return Err(VerifyError::Unlisted((*extra).to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(files: &[BundleFile]) -> Manifest {
        let at = "2026-12-01T10:00:00Z".parse().expect("time");
        Manifest {
            format: FORMAT,
            exported_at: at,
            exported_by: Exporter {
                operator: "alice".into(),
                role: "oncall".into(),
            },
            selector: json!({"request_id": "r1"}),
            window: Window { from: at, to: at },
            counts: BTreeMap::from([("logs".to_owned(), 2)]),
            files: Manifest::entries(files),
        }
    }

    fn file(path: &str, text: &str) -> BundleFile {
        BundleFile {
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
            query: json!({"q": path}),
        }
    }

    #[test]
    fn entries_hash_and_size_the_exact_bytes_and_the_json_round_trips() {
        let files = [file("logs.ndjson", "{}\n"), file("report.md", "")];
        let m = manifest(&files);
        assert_eq!(m.files[0].size, 3);
        assert_eq!(
            m.files[1].sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(m.files[0].query, json!({"q": "logs.ndjson"}));
        let bytes = m.to_bytes();
        assert!(bytes.ends_with(b"}\n"));
        let back: Manifest = serde_json::from_slice(&bytes).expect("parses");
        assert_eq!(back, m);
        assert_eq!(bytes, back.to_bytes(), "stable bytes");
    }

    #[test]
    fn verification_names_the_missing_extra_resized_or_altered_file() {
        let files = [file("a", "one"), file("metrics/b", "two")];
        let m = manifest(&files);
        let ok: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|f| (f.path.clone(), f.bytes.clone()))
            .collect();
        assert_eq!(verify(&m, &ok), Ok(()));
        assert_eq!(
            verify(&m, &ok[..1]),
            Err(VerifyError::Missing("metrics/b".into()))
        );
        let mut extra = ok.clone();
        extra.push(("c".into(), vec![]));
        assert_eq!(verify(&m, &extra), Err(VerifyError::Unlisted("c".into())));
        let mut resized = ok.clone();
        resized[0].1.push(b'!');
        assert!(matches!(
            verify(&m, &resized),
            Err(VerifyError::Size { .. })
        ));
        let mut altered = ok.clone();
        altered[0].1 = b"ONE".to_vec();
        assert!(matches!(
            verify(&m, &altered),
            Err(VerifyError::Hash { .. })
        ));
        let mut twice = ok.clone();
        twice.push(ok[0].clone());
        assert_eq!(verify(&m, &twice), Err(VerifyError::Duplicate("a".into())));
    }
}
