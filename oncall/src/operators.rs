//! Who may use the log API: operators named in `operators.toml`, each with a role
//! and the SHA-256 of a token. Tokens are 256 random bits, so a fast hash is
//! enough (argon2 protects guessable passwords; nothing here is guessable), and
//! the hash is compared in constant time.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What an operator may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads logs and traces.
    Oncall,
    /// Also reads the audit trail.
    Auditor,
    /// Also manages operators.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Oncall => "oncall",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// True when this role includes everything `needed` may do.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "oncall" => Ok(Role::Oncall),
            "auditor" => Ok(Role::Auditor),
            "admin" => Ok(Role::Admin),
            _ => Err(format!("{text:?} is not a role (oncall, auditor, admin)")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operator {
    pub name: String,
    pub role: Role,
    /// SHA-256 of the token, lowercase hex.
    pub token_sha256: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Operators {
    #[serde(default, rename = "operator")]
    pub operators: Vec<Operator>,
}

/// SHA-256 of `token`, lowercase hex.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.trim().as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    text
}

/// 32 random bytes from /dev/urandom, in hex.
pub fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(hex(&bytes))
}

impl Operators {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let parsed: Operators = toml::from_str(text)?;
        for op in &parsed.operators {
            anyhow::ensure!(
                op.token_sha256.len() == 64
                    && op.token_sha256.bytes().all(|b| b.is_ascii_hexdigit()),
                "operator {:?}: token_sha256 is not 64 hex digits",
                op.name
            );
        }
        Ok(parsed)
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the operators file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn to_toml(&self) -> anyhow::Result<String> {
        Ok(toml::to_string(self)?)
    }

    /// The operator holding `token`; every entry is compared, in constant time.
    pub fn authenticate(&self, token: &str) -> Option<&Operator> {
        let presented = hash_token(token);
        let mut found = None;
        for op in &self.operators {
            let stored = op.token_sha256.to_ascii_lowercase();
            if bool::from(stored.as_bytes().ct_eq(presented.as_bytes())) {
                found = Some(op);
            }
        }
        found
    }

    /// Adds (or replaces) `name` with `role` and `token`.
    pub fn upsert(&mut self, name: &str, role: Role, token: &str) {
        self.operators.retain(|o| o.name != name);
        self.operators.push(Operator {
            name: name.to_owned(),
            role,
            token_sha256: hash_token(token),
        });
    }
}

/// Writes `operators` to `path` (0600, parent made), replacing it atomically.
pub fn save(path: &Path, operators: &Operators) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("toml.tmp");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(operators.to_toml()?.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// `oncall operators ...`.
pub fn run(command: crate::cli::OperatorsCommand) -> anyhow::Result<()> {
    use crate::cli::OperatorsCommand;
    let load = |path: &Path| -> anyhow::Result<Operators> {
        if path.exists() {
            Operators::load(path)
        } else {
            Ok(Operators::default())
        }
    };
    match command {
        OperatorsCommand::Add {
            name,
            role,
            token_file,
            token,
            operators,
        } => {
            anyhow::ensure!(
                !name.is_empty()
                    && name.len() <= 64
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                "an operator name is 1-64 letters, digits, '-', '_' or '.'"
            );
            let given = token.filter(|t| !t.trim().is_empty());
            let printed = given.is_none();
            let token = match given {
                Some(t) => {
                    anyhow::ensure!(t.trim().len() >= 32, "a token has at least 32 characters");
                    t.trim().to_owned()
                }
                None => new_token()?,
            };
            let mut ops = load(&operators)?;
            ops.upsert(&name, role, &token);
            match token_file {
                Some(file) => write_private(&file, &token)?,
                None if printed => println!("{token}"),
                None => {}
            }
            save(&operators, &ops)?;
            eprintln!(
                "operator {name} ({}) saved in {}",
                role.as_str(),
                operators.display()
            );
        }
        OperatorsCommand::List { operators } => {
            for op in load(&operators)?.operators {
                println!("{}\t{}", op.name, op.role.as_str());
            }
        }
        OperatorsCommand::Remove { name, operators } => {
            let mut ops = load(&operators)?;
            let before = ops.operators.len();
            ops.operators.retain(|o| o.name != name);
            anyhow::ensure!(ops.operators.len() < before, "no operator {name:?}");
            save(&operators, &ops)?;
        }
    }
    Ok(())
}

/// Writes `text` to `path` with mode 0600 (its folder 0700 when made here).
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            std::fs::create_dir_all(parent)?;
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_and_matched_exactly() {
        let mut ops = Operators::default();
        ops.upsert("alice", Role::Oncall, "token-a");
        ops.upsert("bob", Role::Auditor, "token-b");
        assert_eq!(ops.operators[0].token_sha256.len(), 64);
        assert!(!ops.to_toml().expect("toml").contains("token-a"));
        assert_eq!(
            ops.authenticate("token-a").map(|o| o.name.as_str()),
            Some("alice")
        );
        assert_eq!(
            ops.authenticate("token-b").map(|o| o.role),
            Some(Role::Auditor)
        );
        assert!(ops.authenticate("token-c").is_none());
        assert!(ops.authenticate("").is_none());
        // Known vector: sha256("abc").
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_file_round_trips_and_bad_hashes_are_refused() {
        let mut ops = Operators::default();
        ops.upsert("admin", Role::Admin, "t");
        let text = ops.to_toml().expect("toml");
        assert_eq!(Operators::parse(&text).expect("parses"), ops);
        assert!(
            Operators::parse("[[operator]]\nname='x'\nrole='oncall'\ntoken_sha256='abc'\n")
                .is_err()
        );
        assert!(
            Operators::parse("[[operator]]\nname='x'\nrole='root'\ntoken_sha256='abc'\n").is_err()
        );
    }

    #[test]
    fn roles_include_the_ones_below() {
        assert!(Role::Admin.allows(Role::Auditor));
        assert!(Role::Auditor.allows(Role::Oncall));
        assert!(!Role::Oncall.allows(Role::Auditor));
        assert!(!Role::Auditor.allows(Role::Admin));
        assert_eq!("auditor".parse::<Role>(), Ok(Role::Auditor));
        assert!("root".parse::<Role>().is_err());
    }
}
