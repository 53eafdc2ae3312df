//! Secrets the native stack makes for itself at the first `up`: one file per secret
//! in `.stack/secrets/` (folder 0700, files 0600), never in the repository. The
//! caller's environment variable, when set, wins over the file.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::layout::Layout;

/// The key of the service's caller-id pseudonyms (ALERTINGSCOUT_PII_KEY).
pub const PII_KEY: &str = "pii-key";
/// The token of the on-call server's first operator, `admin` (ONCALL_ADMIN_TOKEN);
/// `oncall logs` reads it from here when ONCALL_TOKEN is unset.
pub const ONCALL_ADMIN_TOKEN: &str = "oncall-admin-token";

/// The file-realm users of Elasticsearch (elastic/users.txt defines them and their
/// roles; docs/security.md says who uses which). Each password is the secret named
/// after the user, or the caller's `ES_PASSWORD_<USER>`, as elastic/es.sh reads it.
pub mod es_users {
    /// Setup only: templates, tests, `oncall retention run` of the audit days.
    pub const ADMIN: &str = "elastic-admin";
    /// The Collector's exporter: create_doc on the logs and traces indices.
    pub const COLLECTOR_WRITER: &str = "collector-writer";
    /// `oncall serve`'s log API and relay: read logs, traces and the audit trail.
    pub const ONCALL_READER: &str = "oncall-reader";
    /// `oncall serve`'s audit trail: create_doc on the audit indices only.
    pub const ONCALL_AUDIT_WRITER: &str = "oncall-audit-writer";
    /// `oncall serve`'s retention schedule: lists and deletes logs/traces days.
    pub const ONCALL_RETENTION: &str = "oncall-retention";
    /// Grafana's Elasticsearch datasources (compose.yml).
    pub const GRAFANA_READER: &str = "grafana-reader";
    /// Kibana's own connection (compose.yml).
    pub const KIBANA_SYSTEM: &str = "kibana-system";
    pub const ALL: [&str; 7] = [
        ADMIN,
        COLLECTOR_WRITER,
        ONCALL_READER,
        ONCALL_AUDIT_WRITER,
        ONCALL_RETENTION,
        GRAFANA_READER,
        KIBANA_SYSTEM,
    ];
}

/// The environment variable that overrides `user`'s password (elastic/es.sh's too).
pub fn es_password_env(user: &str) -> String {
    format!("ES_PASSWORD_{}", user.to_uppercase().replace('-', "_"))
}

/// `user`'s Elasticsearch password, made when missing.
pub fn es_password(layout: &Layout, user: &str) -> Result<String> {
    get_or_create(layout, user, &es_password_env(user))
}

/// The `Authorization` header value of `user` (HTTP basic).
pub fn es_authorization(layout: &Layout, user: &str) -> Result<String> {
    use base64::Engine as _;
    let password = es_password(layout, user)?;
    Ok(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    ))
}

/// Every secret of the stack, made when missing, and `.stack/secrets/compose.env`
/// (0600) holding them as the variables compose.yml interpolates
/// (`docker compose --env-file .stack/secrets/compose.env up`).
pub fn ensure_all(layout: &Layout) -> Result<PathBuf> {
    let mut lines =
        vec!["# Made by `cargo xtask secrets` from .stack/secrets/ (never commit it).".to_string()];
    for user in es_users::ALL {
        lines.push(format!(
            "{}={}",
            es_password_env(user),
            es_password(layout, user)?
        ));
    }
    lines.push(format!(
        "ALERTINGSCOUT_PII_KEY={}",
        get_or_create(layout, PII_KEY, "ALERTINGSCOUT_PII_KEY")?
    ));
    let path = dir(layout).join("compose.env");
    write_private(&path, (lines.join("\n") + "\n").as_bytes())?;
    Ok(path)
}

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
    read_or_make(&folder.join(name), 32)
}

/// The secret in `path`, or a new one (`random_bytes` from /dev/urandom, in hex)
/// written there 0600 when the file is missing or empty.
pub fn read_or_make(path: &Path, random_bytes: usize) -> Result<String> {
    if let Ok(value) = std::fs::read_to_string(path) {
        if !value.trim().is_empty() {
            return Ok(value.trim().to_string());
        }
    }
    let mut bytes = vec![0u8; random_bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    let value: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(path, value.as_bytes())?;
    Ok(value)
}

/// Writes `contents` to `path`, readable by its owner only (0600).
fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents)?;
    Ok(())
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

    #[test]
    fn every_elasticsearch_user_is_in_users_txt_with_a_role_and_the_env_names_match_es_sh() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let users = std::fs::read_to_string(root.join("elastic/users.txt")).expect("users.txt");
        let listed: Vec<(&str, &str)> = users
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut parts = l.split_whitespace();
                Some((parts.next()?, parts.next()?))
            })
            .collect();
        let names: Vec<&str> = listed.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, es_users::ALL.to_vec());
        let roles = std::fs::read_to_string(root.join("elastic/roles.yml")).expect("roles.yml");
        for (user, user_roles) in listed {
            for role in user_roles.split(',') {
                let builtin = ["superuser", "kibana_system"].contains(&role);
                assert!(
                    builtin || roles.contains(&format!("\n{role}:")),
                    "{user}'s role {role} is not in roles.yml"
                );
            }
        }
        assert_eq!(
            es_password_env("oncall-audit-writer"),
            "ES_PASSWORD_ONCALL_AUDIT_WRITER"
        );
        let es_sh = std::fs::read_to_string(root.join("elastic/es.sh")).expect("es.sh");
        assert!(es_sh.contains("ES_PASSWORD_$(echo \"$1\" | tr 'a-z-' 'A-Z_')"));
    }
}
