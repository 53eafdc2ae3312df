//! Swapping backends is a Collector config change, never a service change: with
//! otel-collector/config-swap.yaml the same running service's metrics reach
//! Prometheus by remote write (no scrape of the Collector's exporter) and its logs
//! and spans reach another OTLP endpoint (here an OTLP receiver on :4328).
//! Needs the running stack; restores the default Collector config at the end.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use otlp_sink::Sink;

use common::{call, prom_scalar, unique, wait_for};

/// The port config-swap.yaml sends logs and traces to (SWAP_OTLP_ENDPOINT's default).
const SWAP_OTLP_HTTP: u16 = 4328;

fn xtask_up(config: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["up", "--no-service", "--collector-config", config])
        // The test receiver takes uncompressed protobuf only.
        .env("SWAP_OTLP_COMPRESSION", "none")
        .output()
        .expect("running xtask up");
    assert!(
        out.status.success(),
        "xtask up --collector-config {config} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Puts the default pipeline back, even when the test fails.
struct RestoreDefault;

impl Drop for RestoreDefault {
    fn drop(&mut self) {
        xtask_up("default");
    }
}

fn service_pid() -> String {
    std::fs::read_to_string(common::layout().pid_file("service"))
        .expect("the service's pid file: run `cargo xtask up`")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn logs_with_request_id(sink: &Sink, request_id: &str) -> usize {
    sink.logs()
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|rl| &rl.scope_logs)
        .flat_map(|sl| &sl.log_records)
        .filter(|lr| {
            lr.attributes.iter().any(|kv| {
                kv.key == "request_id"
                    && matches!(kv.value.as_ref().and_then(|v| v.value.as_ref()),
                        Some(AnyValue::StringValue(s)) if s == request_id)
            })
        })
        .count()
}

const COUNT: &str = "sum(http_server_request_duration_seconds_count{job=\"alertingscout\",http_route=\"/projects/{id}\",http_request_method=\"GET\",http_response_status_code=\"404\"})";
const REMOTE_WRITES: &str = "sum(prometheus_http_requests_total{handler=\"/api/v1/write\"})";

#[test]
fn swapping_backends_needs_only_a_collector_config() {
    common::require_stack();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sink = rt
        .block_on(Sink::start_on(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            Some(SocketAddr::from(([127, 0, 0, 1], SWAP_OTLP_HTTP))),
            true,
        ))
        .expect("OTLP receiver on :4328");
    let pid_before = service_pid();

    let _restore = RestoreDefault;
    xtask_up("swap");

    // The prometheus exporter is gone: its scrape target goes down, so whatever
    // counts arrive from now on came by remote write.
    wait_for(
        "the exporter target down",
        Duration::from_secs(30),
        Duration::from_millis(500),
        || Ok((prom_scalar("up{job=\"otel-collector-exporter\"}")? == 0.0).then_some(())),
    )
    .expect("scrape target down under the swap config");
    let writes_before = prom_scalar(REMOTE_WRITES).expect("remote write requests");
    let before = wait_for(
        "a settled count",
        Duration::from_secs(30),
        Duration::from_secs(6),
        {
            let mut last = f64::NAN;
            move || {
                let now = prom_scalar(COUNT)?;
                let settled = now == last;
                last = now;
                Ok(settled.then_some(now))
            }
        },
    )
    .expect("count");

    let rid = unique("swap");
    let sent: u32 = 9;
    for _ in 0..sent {
        let r = call(
            "GET",
            "/projects/876543210",
            None,
            &[("x-request-id", &rid)],
        )
        .expect("request");
        assert_eq!(r.status, 404);
    }

    let logs = wait_for(
        "logs at the other OTLP endpoint",
        Duration::from_secs(60),
        Duration::from_millis(200),
        || {
            let n = logs_with_request_id(&sink, &rid);
            Ok((n >= sent as usize).then_some(n))
        },
    )
    .expect("the service's logs at the swapped OTLP endpoint");
    assert!(logs >= sent as usize);
    assert!(
        sink.counts().spans > 0,
        "no spans at the swapped OTLP endpoint"
    );

    wait_for(
        "remote-written counts",
        Duration::from_secs(60),
        Duration::from_millis(500),
        || {
            let now = prom_scalar(COUNT)?;
            assert!(
                now <= before + f64::from(sent),
                "counted {now}, expected {}",
                before + f64::from(sent)
            );
            Ok((now == before + f64::from(sent)).then_some(()))
        },
    )
    .expect("requests counted in Prometheus through remote write");
    assert!(prom_scalar(REMOTE_WRITES).expect("remote writes") > writes_before);

    assert_eq!(service_pid(), pid_before, "the service was restarted");
}
