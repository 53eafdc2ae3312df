//! `cargo xtask down`: stops what `up` started, in reverse order, by pid.
//! Processes xtask did not start are left alone.

use std::time::Duration;

use anyhow::Result;

use crate::components::{self as c};
use crate::process;
use xtask::layout::Layout;

pub fn run(layout: &Layout) -> Result<()> {
    for component in c::ALL.iter().rev() {
        let stopped = if *component == c::ELASTICSEARCH {
            c::elasticsearch_down(layout)?
        } else {
            // The service drains in-flight requests and flushes telemetry on SIGTERM.
            process::stop(layout, component, Duration::from_secs(30))
        };
        let what = if stopped { "stopped" } else { "not running" };
        eprintln!("  {component:<14} {what}");
    }
    Ok(())
}
