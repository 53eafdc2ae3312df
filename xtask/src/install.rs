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
    if missing.is_empty() {
        return Ok(missing);
    }
    if !on_path("apt-get") {
        bail!("missing {missing:?} and no apt-get to install them");
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
