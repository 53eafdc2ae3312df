//! The service under test: spawned under `taskset` on its own core, configured only through
//! environment variables, stopped with SIGTERM so it flushes its telemetry.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::http1::Conn;

pub struct Config<'a> {
    pub binary: &'a Path,
    pub cpu: usize,
    pub dir: &'a Path,
    pub otlp_endpoint: &'a str,
    pub otlp_protocol: &'a str,
    pub telemetry: bool,
    pub extra_env: &'a [(String, String)],
}

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

pub struct Exit {
    pub status: String,
    /// True when SIGTERM was not enough and the bench had to SIGKILL.
    pub killed: bool,
    pub shutdown_seconds: f64,
}

/// Asks the kernel for a free port; the tiny window before the server binds it is fine
/// on a benchmark machine.
fn free_port() -> anyhow::Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?)
}

impl Server {
    pub fn start(cfg: &Config) -> anyhow::Result<Server> {
        let addr = free_port()?;
        let log = cfg.dir.join("server.log");
        let out = File::create(&log).context("creating server log")?;
        let err = out.try_clone()?;
        let mut cmd = Command::new("taskset");
        cmd.arg("-c")
            .arg(cfg.cpu.to_string())
            .arg(cfg.binary)
            .env("ALERTINGSCOUT_LISTEN", addr.to_string())
            .env("ALERTINGSCOUT_DATABASE", cfg.dir.join("db.sqlite"))
            .env("ALERTINGSCOUT_LOG_STDOUT", "off")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", cfg.otlp_endpoint)
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", cfg.otlp_protocol)
            .env(
                "OTEL_SDK_DISABLED",
                if cfg.telemetry { "false" } else { "true" },
            )
            .env("OTEL_METRIC_EXPORT_INTERVAL", "5000")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in cfg.extra_env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning taskset -c {} {}", cfg.cpu, cfg.binary.display()))?;
        Ok(Server { child, addr, log })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls GET /health until it answers 200; returns how many requests were answered
    /// (they produce telemetry too and count as sent).
    pub fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<u64> {
        let deadline = Instant::now() + timeout;
        let req = format!("GET /health HTTP/1.1\r\nhost: {}\r\n\r\n", self.addr);
        let mut answered = 0;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "server exited during start-up ({status}); log:\n{}",
                    self.log_tail()
                );
            }
            if let Ok(mut c) = Conn::connect(self.addr) {
                if let Ok(status) = c.status(req.as_bytes()) {
                    answered += 1;
                    if status == 200 {
                        return Ok(answered);
                    }
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "server not healthy after {timeout:?}; log:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then wait; SIGKILL after `timeout` so one hung run cannot stall the bench.
    pub fn stop(mut self, timeout: Duration) -> anyhow::Result<Exit> {
        let t0 = Instant::now();
        let pid = libc::pid_t::try_from(self.child.id()).context("pid out of range")?;
        // SAFETY: kill with a pid we spawned and have not reaped yet (no reuse possible).
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let mut killed = false;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if t0.elapsed() > timeout && !killed {
                killed = true;
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Ok(Exit {
            status: status.to_string(),
            killed,
            shutdown_seconds: t0.elapsed().as_secs_f64(),
        })
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Never leave a pinned server behind on an error path. After stop() the child is
        // reaped and std makes kill a no-op, so no stray signal can hit a reused pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
