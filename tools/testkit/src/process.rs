//! Our servers print `<name> listening on <address>` on stderr once bound (so tests
//! can ask for port 0); this starts one through [`listening`], waits for that line, and
//! forwards the rest of its stderr to the test's output with a prefix. A test has no
//! use for an error it cannot handle, so these panic with the reason.

use std::process::{Command, ExitStatus};
use std::time::Duration;

use listening::{Rest, Server};

/// A child process that is killed (and reaped) when dropped.
pub struct Spawned {
    /// What followed "listening on " in its stderr, e.g. `http://127.0.0.1:41234`.
    pub address: String,
    server: Server,
}

impl Spawned {
    /// Starts `command` (stderr piped) and waits up to `timeout` for the line
    /// starting with `ready_prefix` (e.g. `"oncall listening on "`).
    pub fn start(command: Command, ready_prefix: &str, timeout: Duration) -> Spawned {
        let label = command
            .get_program()
            .to_string_lossy()
            .rsplit('/')
            .next()
            .unwrap_or("child")
            .to_owned();
        let server = Server::start(command, ready_prefix, timeout, Rest::Forward { label })
            .unwrap_or_else(|e| panic!("{e}"));
        Spawned {
            address: server.address.clone(),
            server,
        }
    }

    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// Sends SIGTERM and waits up to `grace` for the exit (then SIGKILL and panic).
    pub fn terminate(&mut self, grace: Duration) -> ExitStatus {
        let stopped = self
            .server
            .terminate(grace)
            .unwrap_or_else(|e| panic!("stopping the process: {e}"));
        assert!(
            !stopped.killed,
            "the process did not exit within {grace:?} of SIGTERM"
        );
        stopped.status
    }
}
