//! `--requests-out FILE`: one NDJSON line per request as it ends (its x-request-id,
//! route, status, latency and wall-clock times), so a test can match every request to
//! the telemetry it left in the backends (xtask/tests/reliability_drills.rs).
//! Written line by line: a run that is killed keeps every request that ended before.

use std::fs::File;
use std::io::{LineWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

/// One request's line.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct RequestLine {
    pub request_id: String,
    /// The mix's route tag, e.g. `GET /projects/{id}`.
    pub route: String,
    /// 0: no response (transport error or timeout).
    pub status: u16,
    pub latency_us: u64,
    /// Wall clock, Unix milliseconds, when it was sent and when it ended.
    pub sent_unix_ms: u64,
    pub done_unix_ms: u64,
}

pub struct RequestLog {
    out: Mutex<LineWriter<File>>,
}

pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl RequestLog {
    pub fn create(path: &Path) -> anyhow::Result<RequestLog> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(RequestLog {
            out: Mutex::new(LineWriter::new(file)),
        })
    }

    /// Appends one line; a failed write is reported once per request on stderr and
    /// never stops the run (the test reading the file then finds it short).
    pub fn write(&self, line: &RequestLine) {
        let Ok(mut text) = serde_json::to_string(line) else {
            return;
        };
        text.push('\n');
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = out.write_all(text.as_bytes()) {
            eprintln!("loadtest: writing --requests-out: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_json_line_per_request() {
        let path = std::env::temp_dir().join(format!("requests-out-{}.ndjson", std::process::id()));
        let log = RequestLog::create(&path).unwrap();
        let line = RequestLine {
            request_id: "lt1-00000001".into(),
            route: "GET /projects/{id}".into(),
            status: 404,
            latency_us: 1234,
            sent_unix_ms: 1,
            done_unix_ms: 2,
        };
        log.write(&line);
        log.write(&line);
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let lines: Vec<RequestLine> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1], line);
    }
}
