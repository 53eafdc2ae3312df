//! Where things live: the repository root and the git-ignored state folder `.stack/`.
//!
//! ```text
//! .stack/run/<component>.pid     pid, executable and fingerprint of what `up` started
//! .stack/secrets/<name>          secrets made at the first `up` (0700 folder, 0600 files)
//! .stack/logs/<component>.log    stdout and stderr of each process
//! .stack/prometheus, .stack/alertmanager, .stack/collector/queue, .stack/service
//! .stack/elasticsearch           managed by elastic/es.sh (its own pid and logs)
//! ```

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub state: PathBuf,
}

impl Layout {
    /// The workspace root, found from this crate's manifest folder (xtask/..), so the
    /// runner works from any current directory.
    pub fn discover() -> Layout {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let state = std::env::var_os("STACK_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".stack"));
        Layout { root, state }
    }

    pub fn run_dir(&self) -> PathBuf {
        self.state.join("run")
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.state.join("logs")
    }

    pub fn pid_file(&self, component: &str) -> PathBuf {
        self.run_dir().join(format!("{component}.pid"))
    }

    pub fn log_file(&self, component: &str) -> PathBuf {
        self.logs_dir().join(format!("{component}.log"))
    }

    pub fn data_dir(&self, component: &str) -> PathBuf {
        self.state.join(component)
    }

    pub fn repo(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }
}
