//! `oncall logs --user-id`: the raw id becomes the pseudonym the service logs,
//! `u_` + the first 128 bits of HMAC-SHA256(key, id) in hex, with the same key
//! (ALERTINGSCOUT_PII_KEY, else `.stack/secrets/pii-key`). The ten lines of the
//! service's `Pseudonymiser::pseudonym` are repeated here rather than pulling
//! the whole service library into oncall; the RFC 4231 vector the service's
//! test pins is pinned here too, so the two cannot drift apart unnoticed.

use std::path::Path;

use anyhow::Context;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const KEY_ENV: &str = "ALERTINGSCOUT_PII_KEY";
pub const KEY_FILE: &str = ".stack/secrets/pii-key";

pub fn pseudonym(key: &[u8], raw: &str) -> String {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    mac.update(raw.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("u_{}", crate::operators::hex(&digest[..16]))
}

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
