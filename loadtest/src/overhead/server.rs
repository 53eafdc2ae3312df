//! The service under test: spawned under `taskset` on its own core on port 0 (its
//! address read from its "listening on" line, through [`listening`]), configured only
//! through environment variables, stopped with SIGTERM so it flushes its telemetry.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use listening::Rest;

use crate::overhead::load::http1::Conn;
use crate::overhead::mode::{self, Mode};

pub struct Config<'a> {
    pub binary: &'a Path,
    pub cpu: usize,
    pub dir: &'a Path,
    pub otlp_endpoint: &'a str,
    pub otlp_protocol: &'a str,
    pub mode: Mode,
    pub extra_env: &'a [(String, String)],
}

pub struct Server {
    process: listening::Server,
    pub addr: SocketAddr,
    log: PathBuf,
}

pub struct Exit {
    pub status: String,
    /// True when SIGTERM was not enough and the bench had to SIGKILL.
    pub killed: bool,
    pub shutdown_seconds: f64,
}

/// How long a server may take to bind (a debug build on a busy machine included).
const START_TIMEOUT: Duration = Duration::from_secs(30);

impl Server {
    pub fn start(cfg: &Config) -> anyhow::Result<Server> {
        let log = cfg.dir.join("server.log");
        let out = File::create(&log).context("creating server log")?;
        let err = out.try_clone()?;
        let mut cmd = Command::new("taskset");
        cmd.arg("-c")
            .arg(cfg.cpu.to_string())
            .arg(cfg.binary)
            .env("ALERTINGSCOUT_LISTEN", "127.0.0.1:0")
            .env("ALERTINGSCOUT_DATABASE", cfg.dir.join("db.sqlite"))
            .env("ALERTINGSCOUT_LOG_STDOUT", "off")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", cfg.otlp_endpoint)
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", cfg.otlp_protocol)
            .env(
                "OTEL_SDK_DISABLED",
                if cfg.mode.telemetry() {
                    "false"
                } else {
                    "true"
                },
            )
            .env("OTEL_METRIC_EXPORT_INTERVAL", "5000")
            .stdin(Stdio::null())
            .stdout(out);
        // Off runs get no exporter choice at all (not even one inherited from the bench's
        // environment), so the baseline is the disabled SDK and nothing else.
        match cfg.mode.exporter() {
            Some(exporter) => cmd.env(mode::EXPORTER_ENV, exporter),
            None => cmd.env_remove(mode::EXPORTER_ENV),
        };
        for (k, v) in cfg.extra_env {
            cmd.env(k, v);
        }
        let process = listening::Server::start(
            cmd,
            "alertingscout listening on ",
            START_TIMEOUT,
            Rest::File(err),
        )
        .with_context(|| {
            format!(
                "starting taskset -c {} {}; log:\n{}",
                cfg.cpu,
                cfg.binary.display(),
                tail(&log)
            )
        })?;
        let addr = process
            .address
            .trim_start_matches("http://")
            .parse()
            .with_context(|| format!("the server's address {:?}", process.address))?;
        Ok(Server { process, addr, log })
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Polls GET /health until it answers 200; returns how many requests were answered
    /// (they produce telemetry too and count as sent).
    pub fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<u64> {
        let deadline = Instant::now() + timeout;
        let req = format!("GET /health HTTP/1.1\r\nhost: {}\r\n\r\n", self.addr);
        let mut answered = 0;
        loop {
            if let Some(status) = self.process.try_wait()? {
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
        let stopped = self.process.terminate(timeout)?;
        Ok(Exit {
            status: stopped.status.to_string(),
            killed: stopped.killed,
            shutdown_seconds: t0.elapsed().as_secs_f64(),
        })
    }

    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }
}

/// The last 20 lines of the server's log.
fn tail(log: &Path) -> String {
    listening::log_tail(log, 20)
}
