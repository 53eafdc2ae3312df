//! Loading provisioned dashboards from disk, the way Grafana's file provider
//! does: every `*.json` under a folder, subfolders included.

use std::path::{Path, PathBuf};

use super::model::Dashboard;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `at` is the JSON path of the offending value, e.g. `panels[3].targets[0].instant`.
    #[error("{path}: at {at}: {message}")]
    Parse {
        path: PathBuf,
        at: String,
        message: String,
    },
    #[error("no dashboard with uid {uid:?} in {dir} (found: {found})")]
    NotFound {
        uid: String,
        dir: PathBuf,
        found: String,
    },
}

/// One dashboard file.
pub fn load_file(path: &Path) -> Result<Dashboard, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut json = serde_json::Deserializer::from_str(&text);
    let mut dashboard: Dashboard =
        serde_path_to_error::deserialize(&mut json).map_err(|e| LoadError::Parse {
            path: path.to_owned(),
            at: e.path().to_string(),
            message: e.inner().to_string(),
        })?;
    dashboard.source = path.to_owned();
    Ok(dashboard)
}

/// Every `*.json` under `dir` (recursively), sorted by path so runs are repeatable.
/// A file that does not parse fails the whole load: a provisioned dashboard that
/// Grafana would reject is a bug to report, not to skip.
pub fn load_dir(dir: &Path) -> Result<Vec<Dashboard>, LoadError> {
    let mut files = Vec::new();
    collect_json(dir, &mut files)?;
    files.sort();
    files.iter().map(|path| load_file(path)).collect()
}

/// The dashboard with `uid` among those under `dir`.
pub fn find(dir: &Path, uid: &str) -> Result<Dashboard, LoadError> {
    let dashboards = load_dir(dir)?;
    let found = dashboards
        .iter()
        .map(|d| d.uid.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    dashboards
        .into_iter()
        .find(|d| d.uid == uid)
        .ok_or_else(|| LoadError::NotFound {
            uid: uid.to_owned(),
            dir: dir.to_owned(),
            found: if found.is_empty() {
                "none".to_owned()
            } else {
                found
            },
        })
}

fn collect_json(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let read = |source| LoadError::Read {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_dir() {
            collect_json(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}
