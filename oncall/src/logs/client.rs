//! `oncall logs` and `oncall audit`: ask the on-call server, stream its NDJSON
//! into the chosen rendering, and show progress on stderr for long exports.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Context};

use crate::cli::{AuditSettings, ClientSettings, LogsSettings};
use crate::logs::api::{AUDIT_PATH, HITS_HEADER, LOGS_PATH};
use crate::logs::pseudonym;
use crate::logs::render::{renderer, Format};

/// Exports longer than this show a progress line on stderr.
const PROGRESS_OVER: u64 = 10_000;

/// ONCALL_TOKEN, else the token file.
pub fn token(file: &Path) -> anyhow::Result<String> {
    if let Some(t) = std::env::var("ONCALL_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        return Ok(t.trim().to_owned());
    }
    let text = std::fs::read_to_string(file).with_context(|| {
        format!(
            "no token: set ONCALL_TOKEN or write it to {}",
            file.display()
        )
    })?;
    Ok(text.trim().to_owned())
}

/// The query string of `oncall logs` (the user id already hashed).
pub fn logs_params(s: &LogsSettings) -> anyhow::Result<Vec<(&'static str, String)>> {
    let mut params = Vec::new();
    let mut put = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            params.push((k, v.clone()));
        }
    };
    put("request_id", &s.request_id);
    put("trace_id", &s.trace_id);
    put("from", &s.from);
    put("to", &s.to);
    put("since", &s.since);
    put("level", &s.level);
    put("route", &s.route);
    put("status", &s.status);
    put("project_id", &s.project_id);
    put("limit", &s.limit.map(|l| l.to_string()));
    if let Some(raw) = &s.user_id {
        let key = pseudonym::key(&s.pii_key_file)?;
        params.push(("user_id", pseudonym::pseudonym(key.as_bytes(), raw)));
    }
    Ok(params)
}

pub fn run_logs(s: LogsSettings) -> anyhow::Result<()> {
    let params = logs_params(&s)?;
    let format = s.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Ndjson
    });
    fetch(&s.client, LOGS_PATH, &params, format)
}

pub fn run_audit(s: AuditSettings) -> anyhow::Result<()> {
    let mut params = Vec::new();
    if let Some(op) = &s.operator {
        params.push(("operator", op.clone()));
    }
    if let Some(since) = &s.since {
        params.push(("since", since.clone()));
    }
    params.push(("size", s.size.to_string()));
    fetch(&s.client, AUDIT_PATH, &params, Format::Ndjson)
}

/// The server's JSON error as `field: message`, or the body as it came.
pub fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let e = &v["error"];
            let msg = e["message"].as_str()?.to_owned();
            Some(match e["field"].as_str() {
                Some(f) => format!("{f}: {msg}"),
                None => msg,
            })
        })
        .unwrap_or_else(|| body.to_owned())
}

fn fetch(
    c: &ClientSettings,
    path: &str,
    params: &[(&str, String)],
    format: Format,
) -> anyhow::Result<()> {
    let token = token(&c.token_file)?;
    let mut url = c.server.clone();
    url.set_path(path);
    url.query_pairs_mut().extend_pairs(params);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder().build()?;
        let mut response = client
            .get(url.clone())
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("the on-call server at {} did not answer", c.server))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            bail!(
                "the on-call server refused ({status}): {}",
                error_message(&body)
            );
        }
        let total: Option<u64> = response
            .headers()
            .get(HITS_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let progress = total.filter(|t| *t > PROGRESS_OVER);
        let stdout = std::io::stdout().lock();
        let mut out = renderer(format, std::io::BufWriter::new(stdout));
        out.header()?;
        let mut pending: Vec<u8> = Vec::new();
        let mut done: u64 = 0;
        let stderr_tty = std::io::stderr().is_terminal();
        while let Some(chunk) = response.chunk().await.context("reading the answer")? {
            pending.extend_from_slice(&chunk);
            let mut start = 0;
            while let Some(end) = pending[start..].iter().position(|b| *b == b'\n') {
                let line = &pending[start..start + end];
                if !line.is_empty() {
                    out.record(line)?;
                    done += 1;
                    if let Some(t) = progress.filter(|_| done.is_multiple_of(10_000)) {
                        let sep = if stderr_tty { '\r' } else { '\n' };
                        eprint!("{sep}exported {done}/{t} records");
                    }
                }
                start += end + 1;
            }
            pending.drain(..start);
        }
        if !pending.is_empty() {
            out.record(&pending)?;
            done += 1;
        }
        out.finish()?;
        if progress.is_some() {
            eprintln!("\rexported {done}/{done} records");
        }
        if let Some(t) = total {
            if t != done {
                bail!("the answer was cut short: {done} of {t} records");
            }
        }
        std::io::stderr().flush()?;
        Ok(())
    })
}
