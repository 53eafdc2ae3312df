//! Secrets the native stack makes for itself at the first `up`: one file per secret
//! in `.stack/secrets/` (folder 0700, files 0600), never in the repository. The
//! caller's environment variable, when set, wins over the file.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::layout::Layout;

/// The key of the service's caller-id pseudonyms (ALERTINGSCOUT_PII_KEY).
pub const PII_KEY: &str = "pii-key";
/// The token of the on-call server's first operator, `admin` (ONCALL_ADMIN_TOKEN);
/// `oncall logs` reads it from here when ONCALL_TOKEN is unset.
pub const ONCALL_ADMIN_TOKEN: &str = "oncall-admin-token";

pub fn dir(layout: &Layout) -> PathBuf {
    layout.state.join("secrets")
}

/// `env` if set, else the secret `name` from `.stack/secrets/`, made (32 random
/// bytes in hex) when missing.
pub fn get_or_create(layout: &Layout, name: &str, env: &str) -> Result<String> {
    if let Some(value) = std::env::var(env).ok().filter(|v| !v.trim().is_empty()) {
        return Ok(value);
    }
    let folder = dir(layout);
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700))?;
    let path = folder.join(name);
    if let Ok(value) = std::fs::read_to_string(&path) {
        if !value.trim().is_empty() {
            return Ok(value.trim().to_string());
        }
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    let value: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(value.as_bytes())?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_made_once_private_and_kept() {
        let state = std::env::temp_dir().join(format!("xtask-secrets-{}", std::process::id()));
        let layout = Layout {
            root: PathBuf::from("."),
            state: state.clone(),
        };
        let env = "XTASK_TEST_SECRET_NEVER_SET";
        let first = get_or_create(&layout, "probe", env).expect("made");
        assert_eq!(first.len(), 64);
        assert_eq!(get_or_create(&layout, "probe", env).expect("kept"), first);
        let mode = |p: PathBuf| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode(dir(&layout)).ok(), Some(0o700));
        assert_eq!(mode(dir(&layout).join("probe")).ok(), Some(0o600));
        let _ = std::fs::remove_dir_all(state);
    }
}
