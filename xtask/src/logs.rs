//! `cargo xtask logs [COMPONENT] [-n N] [-f]`: the log files of the stack's processes.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::components::Component;
use xtask::layout::Layout;

fn files(layout: &Layout, component: Component) -> Vec<PathBuf> {
    let own = layout.log_file(component.name());
    match component {
        // es.sh's own output, and the server log Elasticsearch writes itself.
        Component::Elasticsearch => vec![
            own,
            layout
                .data_dir(component.name())
                .join("logs/elasticsearch.log"),
        ],
        Component::Collector => vec![layout.log_file("collector-build"), own],
        // One cargo build makes both.
        Component::Service | Component::Oncall => vec![layout.log_file("service-build"), own],
        Component::Alertmanager | Component::Prometheus => vec![own],
    }
}

pub fn run(layout: &Layout, component: Option<&str>, lines: usize, follow: bool) -> Result<()> {
    let components: Vec<Component> = match component {
        Some(name) => match Component::parse(name) {
            Some(c) => vec![c],
            None => {
                let names: Vec<&str> = Component::ALL.iter().map(|c| c.name()).collect();
                bail!("unknown component {name:?}; one of {}", names.join(", "))
            }
        },
        None => Component::ALL.to_vec(),
    };
    let paths: Vec<PathBuf> = components
        .into_iter()
        .flat_map(|c| files(layout, c))
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
