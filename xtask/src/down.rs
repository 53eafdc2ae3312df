//! `cargo xtask down`: stops what `up` started, in reverse order, by pid.
//! Processes xtask did not start are left alone.

use std::time::Duration;

use anyhow::Result;

use crate::components::{self as c};
use crate::process;
use xtask::layout::Layout;

pub fn run(layout: &Layout) -> Result<()> {
    for component in c::Component::ALL.into_iter().rev() {
        let stopped = if component == c::Component::Elasticsearch {
            c::elasticsearch_down(layout)?
        } else {
            // The service drains in-flight requests and flushes telemetry on SIGTERM.
            process::stop(layout, component.name(), Duration::from_secs(30))
        };
        let what = if stopped { "stopped" } else { "not running" };
        eprintln!("  {:<14} {what}", component.name());
    }
    Ok(())
}
