//! The AlertingScout service as the workspace's tests start it: on port 0, with a
//! database of its own and no log on stdout, in an environment of its own (only PATH
//! is inherited, so a variable set on the machine cannot change what a test sees).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::Spawned;

/// The command for `binary` with its database in `dir`; callers add their own
/// variables (which win over these) before [`start`].
pub fn command(binary: &Path, dir: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ALERTINGSCOUT_LISTEN", "127.0.0.1:0")
        .env("ALERTINGSCOUT_DATABASE", dir.join("db.sqlite"))
        .env("ALERTINGSCOUT_LOG_STDOUT", "off")
        .stdout(Stdio::null());
    command
}

/// Starts it and waits up to `timeout` for its "listening on" line; killed on drop.
pub fn start(command: Command, timeout: Duration) -> Spawned {
    Spawned::start(command, "alertingscout listening on ", timeout)
}
