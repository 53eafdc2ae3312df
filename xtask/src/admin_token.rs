//! The service's admin token (fault injection, `/admin/faults`) on the native stack:
//! ALERTINGSCOUT_ADMIN_TOKEN when the caller sets it, otherwise a random token made
//! once and kept in `.stack/run/admin-token` (mode 0600), which tests read too.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{Context, Result};

use crate::layout::Layout;

pub const ENV: &str = "ALERTINGSCOUT_ADMIN_TOKEN";

pub fn path(layout: &Layout) -> std::path::PathBuf {
    layout.run_dir().join("admin-token")
}

pub fn get_or_create(layout: &Layout) -> Result<String> {
    if let Ok(token) = std::env::var(ENV) {
        return Ok(token);
    }
    let path = path(layout);
    if let Ok(token) = std::fs::read_to_string(&path) {
        return Ok(token.trim().to_string());
    }
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(layout.run_dir())?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    std::io::Write::write_all(&mut file, token.as_bytes())?;
    Ok(token)
}
