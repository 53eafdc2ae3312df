//! `cargo xtask logs [COMPONENT] [-n N] [-f]`: the log files of the stack's processes.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::components::{self as c};
use xtask::layout::Layout;

fn files(layout: &Layout, component: &str) -> Vec<PathBuf> {
    match component {
        // es.sh's own output, and the server log Elasticsearch writes itself.
        c::ELASTICSEARCH => vec![
            layout.log_file(c::ELASTICSEARCH),
            layout
                .data_dir(c::ELASTICSEARCH)
                .join("logs/elasticsearch.log"),
        ],
        c::COLLECTOR => vec![
            layout.log_file("collector-build"),
            layout.log_file(c::COLLECTOR),
        ],
        c::SERVICE => vec![
            layout.log_file("service-build"),
            layout.log_file(c::SERVICE),
        ],
        other => vec![layout.log_file(other)],
    }
}

pub fn run(layout: &Layout, component: Option<&str>, lines: usize, follow: bool) -> Result<()> {
    let components: Vec<&str> = match component {
        Some(name) if c::ALL.contains(&name) => vec![name],
        Some(name) => bail!("unknown component {name:?}; one of {}", c::ALL.join(", ")),
        None => c::ALL.to_vec(),
    };
    let paths: Vec<PathBuf> = components
        .iter()
        .flat_map(|name| files(layout, name))
        .filter(|p| p.is_file())
        .collect();
    if paths.is_empty() {
        bail!(
            "no logs yet under {}: run `cargo xtask up`",
            layout.logs_dir().display()
        );
    }
    // tail prints a "==> file <==" header per file, and -F follows across restarts.
    let mut cmd = Command::new("tail");
    cmd.arg("-n").arg(lines.to_string());
    if follow {
        cmd.arg("-F");
    }
    let status = cmd.args(&paths).status().context("running tail")?;
    if !status.success() {
        bail!("tail exited with {status}");
    }
    Ok(())
}
