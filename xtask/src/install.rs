//! System packages the stack needs, from Debian: Prometheus 2.42, Alertmanager 0.25,
//! and the tools elastic/es.sh uses. Installed only when missing.

use std::process::Command;

use anyhow::{bail, Context, Result};

/// (command that must be on PATH, Debian package providing it)
const PACKAGES: [(&str, &str); 5] = [
    ("prometheus", "prometheus"),
    ("promtool", "prometheus"),
    ("prometheus-alertmanager", "prometheus-alertmanager"),
    ("curl", "curl"),
    ("unzip", "unzip"),
];

pub fn on_path(command: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(command).is_file()))
}

/// Returns the packages it installed (empty when all were present).
pub fn ensure_packages() -> Result<Vec<&'static str>> {
    let mut missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(cmd, _)| !on_path(cmd))
        .map(|(_, pkg)| *pkg)
        .collect();
    missing.dedup();
    match plan(&missing, is_root(), on_path("apt-get")) {
        Plan::Nothing => return Ok(missing),
        Plan::Refuse(why) => bail!(why),
        Plan::Install => {}
    }
    let quiet = |args: &[&str]| -> Result<()> {
        let out = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .context("running apt-get")?;
        if !out.status.success() {
            bail!(
                "apt-get {} failed:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    };
    quiet(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    quiet(&args)?;
    Ok(missing)
}

/// What `ensure_packages` does about the missing packages.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    Nothing,
    Install,
    /// A developer who is not root installs them once with the line given.
    Refuse(String),
}

fn plan(missing: &[&str], root: bool, apt: bool) -> Plan {
    if missing.is_empty() {
        return Plan::Nothing;
    }
    let line = format!("sudo apt-get install -y {}", missing.join(" "));
    if !apt {
        Plan::Refuse(format!(
            "missing Debian packages {} and no apt-get on PATH to install them",
            missing.join(" ")
        ))
    } else if !root {
        Plan::Refuse(format!(
            "missing Debian packages: install them once with\n  {line}\nthen run `cargo xtask up` again"
        ))
    } else {
        Plan::Install
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_developer_who_is_not_root_gets_the_exact_install_line() {
        let missing = ["prometheus", "prometheus-alertmanager"];
        assert_eq!(plan(&[], false, true), Plan::Nothing);
        assert_eq!(plan(&missing, true, true), Plan::Install);
        match plan(&missing, false, true) {
            Plan::Refuse(why) => assert!(
                why.contains("\n  sudo apt-get install -y prometheus prometheus-alertmanager\n"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(plan(&missing, true, false), Plan::Refuse(_)));
    }
}
