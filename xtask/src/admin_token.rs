//! The service's admin token (fault injection, `/admin/faults`) on the native stack:
//! ALERTINGSCOUT_ADMIN_TOKEN when the caller sets it, otherwise a random token made
//! once and kept in `.stack/run/admin-token` (mode 0600), which tests read too.

use anyhow::Result;

use crate::layout::Layout;

pub const ENV: &str = "ALERTINGSCOUT_ADMIN_TOKEN";

pub fn path(layout: &Layout) -> std::path::PathBuf {
    layout.run_dir().join("admin-token")
}

pub fn get_or_create(layout: &Layout) -> Result<String> {
    if let Ok(token) = std::env::var(ENV) {
        return Ok(token);
    }
    std::fs::create_dir_all(layout.run_dir())?;
    crate::secrets::read_or_make(&path(layout), 24)
}
