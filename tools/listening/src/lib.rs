//! Our servers print `<name> listening on <address>` on stderr once bound, so a caller
//! can ask for port 0 and learn the port from that line: no port is picked in advance
//! (a free port found by binding and closing can be taken by someone else before the
//! server binds it). [`Server::start`] starts one, waits for that line and passes the
//! rest of its stderr on; the process is killed when the value is dropped.
//!
//! Its own crate, not a module of testkit, because a shipped binary uses it too (the
//! load tester starts the service it measures): test-support code stays out of
//! binaries, and this stays free of test conventions (it returns errors; testkit
//! panics).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where the server's stderr goes after its "listening on" line.
pub enum Rest {
    /// To our stderr, each line prefixed with `[label] `.
    Forward { label: String },
    /// Into a log file, the "listening on" line included.
    File(File),
}

/// A started server; killed (and reaped) when dropped.
pub struct Server {
    /// What followed the ready prefix, e.g. `http://127.0.0.1:41234`.
    pub address: String,
    child: Child,
}

/// How a server ended under [`Server::terminate`].
pub struct Stopped {
    pub status: ExitStatus,
    /// SIGTERM was not enough within the grace period and SIGKILL was sent.
    pub killed: bool,
}

impl Server {
    /// Starts `command` (its stderr piped here) and waits up to `timeout` for the line
    /// that starts with `ready_prefix`, e.g. `"alertingscout listening on "`.
    pub fn start(
        mut command: Command,
        ready_prefix: &str,
        timeout: Duration,
        rest: Rest,
    ) -> io::Result<Server> {
        command.stderr(Stdio::piped());
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("starting {program}: {e}")))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| io::Error::other("the child's stderr was not piped"))?;
        let (tx, rx) = mpsc::channel();
        let prefix = ready_prefix.to_owned();
        std::thread::spawn(move || pass_on(stderr, &prefix, tx, rest));
        match rx.recv_timeout(timeout) {
            Ok(address) => Ok(Server { address, child }),
            Err(_) => {
                // Either it exited (the reader saw EOF) or it is stuck: both end here.
                let _ = child.kill();
                let status = child.wait()?;
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{program} did not print {ready_prefix:?} within {timeout:?} ({status})"
                    ),
                ))
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if it has exited.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// SIGTERM (our servers flush their telemetry on it), then up to `grace` for the
    /// exit; after that SIGKILL, so one hung server cannot stall its caller.
    pub fn terminate(&mut self, grace: Duration) -> io::Result<Stopped> {
        let pid = libc::pid_t::try_from(self.child.id())
            .map_err(|_| io::Error::other("pid out of range"))?;
        // SAFETY: kill(2) on our own child, not reaped yet, so the pid cannot be reused.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        let mut killed = false;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Stopped { status, killed });
            }
            if Instant::now() > deadline && !killed {
                killed = true;
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Never leave a server behind on an error path. After terminate() the child is
        // reaped and std makes kill a no-op, so no stray signal can hit a reused pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `lines` lines of a server's log file ([`Rest::File`]), to show why it failed;
/// empty when the file cannot be read.
pub fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Reads the child's stderr to its end: the address goes to `ready` once, every other
/// line to `rest`. Reading on after the ready line matters: a server whose stderr pipe
/// fills up blocks.
fn pass_on(stderr: impl io::Read, prefix: &str, ready: mpsc::Sender<String>, mut rest: Rest) {
    let mut sent = false;
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let address = (!sent).then(|| line.strip_prefix(prefix)).flatten();
        if let Some(address) = address {
            let _ = ready.send(address.trim().to_owned());
            sent = true;
        }
        match &mut rest {
            Rest::Forward { label } if address.is_none() => eprintln!("[{label}] {line}"),
            Rest::Forward { .. } => {}
            Rest::File(file) => {
                let _ = writeln!(file, "{line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    #[test]
    fn reads_the_address_and_logs_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let mut server = Server::start(
            sh("echo starting >&2; echo 'x listening on http://127.0.0.1:1' >&2; echo after >&2; exec sleep 30"),
            "x listening on ",
            Duration::from_secs(10),
            Rest::File(File::create(&log).unwrap()),
        )
        .unwrap();
        assert_eq!(server.address, "http://127.0.0.1:1");
        let stopped = server.terminate(Duration::from_secs(10)).unwrap();
        assert!(!stopped.killed);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains("starting") && text.contains("listening on"),
            "{text}"
        );
    }

    #[test]
    fn a_server_that_exits_first_is_an_error() {
        let err = Server::start(
            sh("echo nope >&2; exit 3"),
            "x listening on ",
            Duration::from_secs(10),
            Rest::Forward { label: "x".into() },
        )
        .err()
        .expect("no address");
        assert!(err.to_string().contains("exit status: 3"), "{err}");
    }
}
