//! Our servers print `<name> listening on <address>` on stderr once bound (so tests
//! can ask for port 0); this starts one, waits for that line, and forwards the rest
//! of its stderr to the test's output with a prefix.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child process that is killed (and reaped) when dropped.
pub struct Spawned {
    /// What followed "listening on " in its stderr, e.g. `http://127.0.0.1:41234`.
    pub address: String,
    child: Option<Child>,
}

impl Spawned {
    /// Starts `command` (stderr piped) and waits up to `timeout` for the line
    /// starting with `ready_prefix` (e.g. `"oncall listening on "`).
    pub fn start(mut command: Command, ready_prefix: &str, timeout: Duration) -> Spawned {
        command.stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn the binary under test");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        let prefix = ready_prefix.to_owned();
        let label = command
            .get_program()
            .to_string_lossy()
            .rsplit('/')
            .next()
            .unwrap_or("child")
            .to_owned();
        let forwarded = label.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(address) = line.strip_prefix(&prefix) {
                        let _ = tx.send(address.trim().to_owned());
                        sent = true;
                        continue;
                    }
                }
                eprintln!("[{forwarded}] {line}");
            }
        });
        let address = match rx.recv_timeout(timeout) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                panic!("{label} did not print {ready_prefix:?} within {timeout:?}");
            }
        };
        Spawned {
            address,
            child: Some(child),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends SIGTERM and waits up to `grace` for the exit (then SIGKILL and panic).
    pub fn terminate(&mut self, grace: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the process did not exit within {grace:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
