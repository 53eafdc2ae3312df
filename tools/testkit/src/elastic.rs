//! The stack's Elasticsearch for tests: its URL and the file-realm users'
//! credentials (security is on; docs/security.md). A password is the caller's
//! `ES_PASSWORD_<USER>` (upper case, `-` as `_`, as elastic/es.sh reads it) or
//! the secret `cargo xtask up` made in `<repo>/.stack/secrets/<user>`; tests
//! only read it, so a missing one fails loudly instead of making a new one.

use std::path::PathBuf;

/// Setup and test fixtures (seeding, cleanup, reading what a test wrote).
pub const ADMIN: &str = "elastic-admin";
/// `oncall serve`'s log reader.
pub const ONCALL_READER: &str = "oncall-reader";
/// `oncall serve`'s create-only audit writer.
pub const ONCALL_AUDIT_WRITER: &str = "oncall-audit-writer";
/// `oncall serve`'s retention schedule.
pub const ONCALL_RETENTION: &str = "oncall-retention";

/// `ONCALL_ELASTICSEARCH_URL`, default the stack's, without a trailing slash.
pub fn es_url() -> String {
    std::env::var("ONCALL_ELASTICSEARCH_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:9200".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// `user` and its password.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl Credentials {
    /// The `Authorization` header value (HTTP basic).
    pub fn authorization(&self) -> String {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", self.user, self.password))
        )
    }

    /// The `ONCALL_<PREFIX>ELASTICSEARCH_USER` / `_PASSWORD` pair of `oncall serve`
    /// (`prefix` "", "AUDIT_" or "RETENTION_").
    pub fn oncall_env(&self, prefix: &str) -> [(String, String); 2] {
        [
            (
                format!("ONCALL_{prefix}ELASTICSEARCH_USER"),
                self.user.clone(),
            ),
            (
                format!("ONCALL_{prefix}ELASTICSEARCH_PASSWORD"),
                self.password.clone(),
            ),
        ]
    }
}

/// The variable that overrides `user`'s password.
pub fn password_env(user: &str) -> String {
    format!("ES_PASSWORD_{}", user.to_uppercase().replace('-', "_"))
}

fn secrets_dir() -> PathBuf {
    std::env::var_os("STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.stack"))
        .join("secrets")
}

/// The credentials of `user`; panics, naming what to run, when there are none.
pub fn credentials(user: &str) -> Credentials {
    let env = password_env(user);
    let password = std::env::var(&env)
        .ok()
        .filter(|p| !p.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string(secrets_dir().join(user))
                .ok()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
        })
        .unwrap_or_else(|| {
            panic!(
                "no password for Elasticsearch user {user}: set {env} or run `cargo xtask up` (it makes {})",
                secrets_dir().join(user).display()
            )
        });
    Credentials {
        user: user.to_owned(),
        password,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_names_the_user_as_es_sh_does() {
        assert_eq!(
            password_env("oncall-audit-writer"),
            "ES_PASSWORD_ONCALL_AUDIT_WRITER"
        );
        std::env::set_var("ES_PASSWORD_TESTKIT_PROBE_USER", "s3cret");
        let c = credentials("testkit-probe-user");
        assert_eq!(c.password, "s3cret");
        let [(uk, uv), (pk, pv)] = c.oncall_env("AUDIT_");
        assert_eq!(
            (uk.as_str(), uv.as_str(), pk.as_str(), pv.as_str()),
            (
                "ONCALL_AUDIT_ELASTICSEARCH_USER",
                "testkit-probe-user",
                "ONCALL_AUDIT_ELASTICSEARCH_PASSWORD",
                "s3cret"
            )
        );
    }
}
