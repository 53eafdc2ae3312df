//! A benchmark, not a test (ignored by default): the sending thread's CPU per
//! export request, by protocol, with the real [`Transport`] sending to an
//! in-process OTLP receiver (otlp-sink) pinned to another core. It isolates what
//! the service-wide `loadtest overhead` cannot: the transport's own cost per batch,
//! which is most of the gRPC-over-OTLP/HTTP difference of the export threads.
//!
//! ```text
//! cargo test --release -p alertingscout --lib transport_cost -- --ignored --nocapture
//! ```
//!
//! Rounds interleave the protocols; each round sends a batch-sized trace request
//! `TRANSPORT_COST_SENDS` times (default 200), `TRANSPORT_COST_GAP_MS` apart
//! (default 50, about how often a busy service's export thread wakes: it sleeps in
//! between, so each send starts with cold caches as it does in the service).
//! `TRANSPORT_COST_ROUNDS` (default 6), `TRANSPORT_COST_CPUS` ("0,1": the sender's
//! core, then the receiver's). CPU is the thread's on-CPU time from
//! /proc/thread-self/schedstat, kernel time included.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
use testkit::stats::spread;

use super::payload::Payload;
use super::transport::Transport;
use super::Signal;
use crate::telemetry::config::{ExporterConfig, Protocol};

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Nanoseconds this thread has run, user and kernel (first field of schedstat).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat")
}

/// A string attribute, through opentelemetry-proto's own conversion.
fn string(key: &'static str, value: String) -> KeyValue {
    (&opentelemetry::KeyValue::new(key, value)).into()
}

/// A full batch (512) of server spans shaped like the service's: about 320 bytes
/// each on the wire, as the lean exporter's POST /projects batches measured.
fn batch() -> ExportTraceServiceRequest {
    let spans = (0..512u32)
        .map(|i| Span {
            trace_id: (0..16).map(|b| (i as u8).wrapping_mul(31) ^ b).collect(),
            span_id: (0..8).map(|b| (i as u8).wrapping_add(b)).collect(),
            name: "POST /projects".into(),
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: 1_764_000_000_000_000_000 + u64::from(i) * 500_000,
            end_time_unix_nano: 1_764_000_000_000_000_000 + u64::from(i) * 500_000 + 180_000,
            attributes: vec![
                string("http.request.method", "POST".into()),
                string("http.route", "/projects".into()),
                string("url.scheme", "http".into()),
                string("url.path", "/projects".into()),
                string("request_id", format!("01JDQ8Z6V3K9{i:014}")),
                string("network.protocol.version", "1.1".into()),
                string("server.address", "127.0.0.1".into()),
                string("client.address", "127.0.0.1".into()),
                string("user_agent.original", "loadtest/0.1".into()),
                string("http.response.status_code", "201".into()),
            ],
            status: Some(Status::default()),
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string("service.name", "alertingscout".into())],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "alertingscout".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
#[ignore = "a benchmark: run by hand with --release -- --ignored --nocapture"]
fn transport_cost_per_export() {
    let rounds = knob("TRANSPORT_COST_ROUNDS", 6).max(1) as usize;
    let sends = knob("TRANSPORT_COST_SENDS", 200).max(1);
    let gap = Duration::from_millis(knob("TRANSPORT_COST_GAP_MS", 50));
    let cpus = std::env::var("TRANSPORT_COST_CPUS").unwrap_or_else(|_| "0,1".into());
    let (sender_cpu, receiver_cpu) = cpus
        .split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
        .expect("TRANSPORT_COST_CPUS: two core numbers, e.g. 0,1");

    // The receiver's threads inherit the mask in force when they start.
    testkit::bench::pin_current_thread(receiver_cpu).expect("pinning the receiver");
    let sink = otlp_sink::Background::start(true).expect("starting the OTLP receiver");
    testkit::bench::pin_current_thread(sender_cpu).expect("pinning the sender");

    let payload = Payload::of_message(&batch());
    let transport = |protocol| {
        let base_endpoint = match protocol {
            Protocol::Grpc => sink.grpc_endpoint(),
            Protocol::HttpProtobuf => sink.http_endpoint().expect("OTLP/HTTP"),
        };
        Transport::new(ExporterConfig {
            protocol,
            base_endpoint,
            signal_endpoints: [None, None, None],
            timeout: Duration::from_secs(5),
            headers: vec![],
        })
        .expect("transport")
    };
    let protocols = [Protocol::Grpc, Protocol::HttpProtobuf];
    let transports = protocols.map(transport);
    // Connections open and windows grown before anything is measured.
    for t in &transports {
        for _ in 0..20 {
            t.send(Signal::Traces, &payload).expect("warm-up export");
        }
    }

    println!(
        "transport cost: {} bytes per export request, {rounds} rounds x {sends} sends, \
         {gap:?} apart, sender CPU {sender_cpu}, receiver CPU {receiver_cpu} (load average {})",
        payload.grpc_message().len(),
        testkit::bench::load_average()
    );
    let mut per_send: [Vec<f64>; 2] = Default::default();
    for round in 0..rounds {
        // The order alternates so that neither protocol always runs second.
        for k in [round % 2, 1 - round % 2] {
            let before = thread_cpu_ns();
            for _ in 0..sends {
                transports[k]
                    .send(Signal::Traces, &payload)
                    .expect("export");
                std::thread::sleep(gap);
            }
            let after = thread_cpu_ns();
            // Sleeping costs a little CPU too (the timer, the context switch),
            // the same for both protocols.
            per_send[k].push((after - before) as f64 / 1e3 / sends as f64);
        }
    }
    let [grpc, http] = per_send.map(|runs| spread(&runs).expect("at least one round"));
    for (protocol, s) in protocols.iter().zip([grpc, http]) {
        println!(
            "  {:<14} median {:>7.1} us per export (min {:.1}, max {:.1})",
            format!("{protocol:?}"),
            s.median,
            s.min,
            s.max
        );
    }
    let (grpc, http) = (grpc.median, http.median);
    println!(
        "  gRPC - OTLP/HTTP: {:+.1} us per export, {:.2}x (load average {})",
        grpc - http,
        grpc / http,
        testkit::bench::load_average()
    );
    assert!(grpc > 0.0 && http > 0.0, "no CPU time measured");
}
