//! One run: start the server in one mode, load every endpoint, stop it, and count what
//! the receiver got while it lived.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use otlp_sink::{Counts, Sink};
use serde::Serialize;

use crate::overhead::args::{secs, Settings};
use crate::overhead::cpu;
use crate::overhead::endpoint::{self, Endpoint, RequestBuilder};
use crate::overhead::load::closed::{self, Saturation};
use crate::overhead::load::http1::Conn;
use crate::overhead::load::open::{self, FixedRate};
use crate::overhead::mode::Mode;
use crate::overhead::server::{self, Server};

#[derive(Clone, Debug, Serialize)]
pub struct EndpointRun {
    pub endpoint: Endpoint,
    pub saturation: Saturation,
    pub fixed_rate: FixedRate,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Received {
    pub spans: u64,
    pub log_records: u64,
    pub metric_data_points: u64,
    pub export_requests: u64,
}

impl From<Counts> for Received {
    fn from(c: Counts) -> Self {
        Received {
            spans: c.spans,
            log_records: c.log_records,
            metric_data_points: c.metric_data_points,
            export_requests: c.trace_requests + c.log_requests + c.metric_requests,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Expected {
    pub spans: u64,
    pub log_records: u64,
}

impl Expected {
    /// `answered` more requests of `endpoint`.
    fn add(&mut self, endpoint: Endpoint, answered: u64) {
        let (spans, logs) = endpoint.records_per_request();
        self.spans += spans * answered;
        self.log_records += logs * answered;
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Run {
    pub round: usize,
    pub mode: Mode,
    pub endpoints: Vec<EndpointRun>,
    /// Every request the server answered during the run (readiness probes, set-up,
    /// warm-up and both load phases); what they should yield is `expected`.
    pub requests_sent: u64,
    pub errors: u64,
    /// The spans and log records the answered requests should have produced, by
    /// endpoint (`Endpoint::records_per_request`; a lower bound: start-up logs come on
    /// top). Received less: records were lost.
    pub expected: Expected,
    pub received: Received,
    pub exit_status: String,
    pub killed: bool,
    pub shutdown_seconds: f64,
}

pub fn run_once(
    s: &Settings,
    sink: &Sink,
    round: usize,
    mode: Mode,
    dir: &Path,
) -> anyhow::Result<Run> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let before = sink.counts();
    let endpoint = match (&s.collector, s.protocol.as_str()) {
        (Some(url), _) => url.clone(),
        (None, "grpc") => sink.grpc_endpoint(),
        (None, _) => sink
            .http_endpoint()
            .context("the receiver was started without OTLP/HTTP")?,
    };
    let mut server = Server::start(&server::Config {
        binary: &s.binary,
        cpu: s.server_cpu,
        dir,
        otlp_endpoint: &endpoint,
        otlp_protocol: &s.protocol,
        mode,
        extra_env: &s.extra_env,
    })?;
    let mut sent = server.wait_ready(Duration::from_secs(30))?;
    let mut expected = Expected::default();
    expected.add(Endpoint::Health, sent);
    let host = server.addr.to_string();
    let mut results = Vec::new();
    let mut errors = 0;
    for &ep in &s.endpoints {
        let id = match ep {
            Endpoint::GetProject => {
                sent += 1;
                expected.add(Endpoint::CreateProject, 1);
                Some(create_project(server.addr, &host)?)
            }
            _ => None,
        };
        let builder = RequestBuilder::new(ep, &host, id.as_deref());
        let sat = closed::run(
            server.addr,
            &builder,
            server.pid(),
            s.server_cpu,
            s.connections,
            secs(s.warmup_s),
            secs(s.duration_s),
        )
        .with_context(|| format!("{ep} saturation; server log:\n{}", server.log_tail()))?;
        let cpu_before = cpu::threads_cpu_ns(server.pid())?;
        let mut fixed = open::run(
            server.addr,
            &builder,
            s.rate,
            secs(s.open_duration_s),
            s.open_connections,
        )
        .with_context(|| format!("{ep} fixed rate"))?;
        let cpu_ns = cpu::threads_cpu_ns(server.pid())?.saturating_sub(cpu_before);
        fixed.server_cpu_us_per_request = cpu_ns as f64 / 1e3 / fixed.responses.max(1) as f64;
        sent += sat.total_responses + fixed.responses;
        errors += sat.errors + fixed.errors;
        let answered =
            (sat.total_responses + fixed.responses).saturating_sub(sat.errors + fixed.errors);
        expected.add(ep, answered);
        results.push(EndpointRun {
            endpoint: ep,
            saturation: sat,
            fixed_rate: fixed,
        });
    }
    let exit = server.stop(Duration::from_secs(30))?;
    // The receiver counts every run together; runs never overlap, so this run's records
    // are the change of its counters since `before`. The exporter waits for our reply
    // before the server can exit, so counts are final by now; the pause only covers a
    // reply racing the counter update on another thread.
    std::thread::sleep(Duration::from_millis(100));
    let received = sink.counts().since(&before).into();
    Ok(Run {
        round,
        mode,
        endpoints: results,
        requests_sent: sent,
        errors,
        expected,
        received,
        exit_status: exit.status,
        killed: exit.killed,
        shutdown_seconds: exit.shutdown_seconds,
    })
}

/// GET /projects/{id} needs an existing project: create one and read its id.
fn create_project(addr: SocketAddr, host: &str) -> anyhow::Result<String> {
    let mut req = Vec::new();
    endpoint::create_project(host, 0, &mut req);
    let resp = Conn::connect(addr)?.request(&req)?;
    anyhow::ensure!(
        resp.status == 201,
        "POST /projects answered {}",
        resp.status
    );
    let v: serde_json::Value = serde_json::from_slice(&resp.body).context("project JSON")?;
    project_id(&v).context("no id in the created project")
}

fn project_id(v: &serde_json::Value) -> Option<String> {
    match &v["id"] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_records_add_up_by_endpoint() {
        let mut expected = Expected::default();
        expected.add(Endpoint::Health, 3);
        expected.add(Endpoint::CreateProject, 10);
        expected.add(Endpoint::GetProject, 5);
        assert_eq!(
            (expected.spans, expected.log_records),
            (3 + 20 + 10, 3 + 20 + 5)
        );
    }

    #[test]
    fn ids_may_be_strings_or_numbers() {
        assert_eq!(
            project_id(&serde_json::json!({"id": "0193-ab"})).as_deref(),
            Some("0193-ab")
        );
        assert_eq!(
            project_id(&serde_json::json!({"id": 7})).as_deref(),
            Some("7")
        );
        assert_eq!(project_id(&serde_json::json!({"name": "x"})), None);
    }
}
