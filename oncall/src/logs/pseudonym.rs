//! `oncall logs --user-id`: the raw id becomes the pseudonym the service logs,
//! `u_` + the first 128 bits of HMAC-SHA256(key, id) in hex, with the same key
//! (ALERTINGSCOUT_PII_KEY, else `.stack/secrets/pii-key`), computed by the
//! `pseudonym` crate the service writes it with.

use std::path::Path;

use anyhow::Context;

pub const KEY_ENV: &str = "ALERTINGSCOUT_PII_KEY";
pub const KEY_FILE: &str = ".stack/secrets/pii-key";

pub use pseudonym::pseudonym;

/// The key from the environment, else from `file` (relative to the working directory).
pub fn key(file: &Path) -> anyhow::Result<String> {
    if let Some(k) = std::env::var(KEY_ENV).ok().filter(|k| !k.trim().is_empty()) {
        return Ok(k);
    }
    let text = std::fs::read_to_string(file).with_context(|| {
        format!(
            "--user-id needs the pseudonym key: set {KEY_ENV} or run from the repository after `cargo xtask up` ({})",
            file.display()
        )
    })?;
    Ok(text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_s_pseudonym_is_reproduced() {
        // RFC 4231 test case 2, as pinned in service/src/telemetry/pii.rs.
        assert_eq!(
            pseudonym(b"Jefe", "what do ya want for nothing?"),
            "u_5bdcc146bf60754e6a042426089575c7"
        );
        assert!(crate::logs::query::is_pseudonym(&pseudonym(b"k", "alice")));
    }
}
