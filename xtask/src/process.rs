//! Processes that `up` starts and `down` stops, tracked by pid files.
//!
//! A pid file holds the pid, the executable and a fingerprint of what was started
//! (binary and config). `up` keeps a process whose fingerprint still matches and
//! restarts one whose binary or config changed; `down` only signals a pid whose
//! /proc entry still shows the same executable, so a reused pid is never killed.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use xtask::layout::Layout;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub pid: i32,
    pub exe: String,
    pub fingerprint: String,
}

impl Tracked {
    fn parse(text: &str) -> Option<Tracked> {
        let mut lines = text.lines();
        let pid = lines.next()?.trim().parse().ok()?;
        let exe = lines.next()?.to_string();
        let fingerprint = lines.next().unwrap_or_default().to_string();
        Some(Tracked {
            pid,
            exe,
            fingerprint,
        })
    }

    fn render(&self) -> String {
        format!("{}\n{}\n{}\n", self.pid, self.exe, self.fingerprint)
    }
}

/// The tracked process of `component`, if its pid is alive and still runs `exe`.
pub fn running(layout: &Layout, component: &str) -> Option<Tracked> {
    let text = fs::read_to_string(layout.pid_file(component)).ok()?;
    let tracked = Tracked::parse(&text)?;
    alive(tracked.pid, &tracked.exe).then_some(tracked)
}

/// Alive and not a zombie, and its command line names the same executable.
fn alive(pid: i32, exe: &str) -> bool {
    let Ok(process) = procfs::process::Process::new(pid) else {
        return false;
    };
    if process.stat().is_ok_and(|s| s.state == 'Z') {
        return false;
    }
    let name = Path::new(exe)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    process
        .cmdline()
        .is_ok_and(|args| args.iter().any(|a| a.contains(name.as_str())))
}

pub fn record(layout: &Layout, component: &str, tracked: &Tracked) -> Result<()> {
    fs::create_dir_all(layout.run_dir())?;
    fs::write(layout.pid_file(component), tracked.render())
        .with_context(|| format!("writing the pid file of {component}"))
}

pub fn forget(layout: &Layout, component: &str) {
    let _ = fs::remove_file(layout.pid_file(component));
}

/// Starts `cmd` detached (own process group, so a Ctrl-C in the terminal that ran
/// `up` does not reach it), output appended to the component's log file.
pub fn spawn(
    layout: &Layout,
    component: &str,
    mut cmd: Command,
    fingerprint: &str,
) -> Result<(Tracked, Child)> {
    fs::create_dir_all(layout.logs_dir())?;
    let log_path = layout.log_file(component);
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let exe = cmd.get_program().to_string_lossy().into_owned();
    let child = cmd
        .current_dir(&layout.root)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {component} ({exe})"))?;
    let tracked = Tracked {
        pid: child.id() as i32,
        exe,
        fingerprint: fingerprint.to_string(),
    };
    record(layout, component, &tracked)?;
    // The caller watches the child while it starts; once xtask exits, init reaps
    // it. Dropping the handle does not kill it.
    Ok((tracked, child))
}

/// SIGTERM, then SIGKILL after `grace`. Returns whether a process was stopped.
pub fn stop(layout: &Layout, component: &str, grace: Duration) -> bool {
    let Some(tracked) = running(layout, component) else {
        forget(layout, component);
        return false;
    };
    terminate(tracked.pid, &tracked.exe, grace);
    forget(layout, component);
    true
}

fn terminate(pid: i32, exe: &str, grace: Duration) {
    // SAFETY: kill(2) with a pid we verified runs our executable.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let start = Instant::now();
    while alive(pid, exe) && start.elapsed() < grace {
        reap(pid);
        std::thread::sleep(Duration::from_millis(100));
    }
    if alive(pid, exe) {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        std::thread::sleep(Duration::from_millis(200));
    }
    reap(pid);
}

/// Collects the exit status when the process is our own child (started in this run).
fn reap(pid: i32) {
    let mut status = 0;
    // SAFETY: non-blocking waitpid; fails harmlessly for a pid that is not our child.
    unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
}

/// The last `lines` lines of a component's log, for error messages.
pub fn log_tail(layout: &Layout, component: &str, lines: usize) -> String {
    let text = fs::read_to_string(layout.log_file(component)).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::Tracked;

    #[test]
    fn pid_file_round_trips() {
        let t = Tracked {
            pid: 42,
            exe: "/usr/bin/prometheus".into(),
            fingerprint: "abc".into(),
        };
        assert_eq!(Tracked::parse(&t.render()), Some(t));
        assert_eq!(Tracked::parse("not a pid\n"), None);
    }
}
