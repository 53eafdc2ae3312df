//! The "partial pipeline failure" edge case: a dead or hanging collector
//! never fails or blocks a request, shows in /health/telemetry, and a
//! collector that comes back gets what was kept for retry.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use otlp_sink::Sink;
use serde_json::Value;

use crate::helpers::{TestApp, DEAD_ENDPOINT};

#[tokio::test]
async fn a_dead_collector_shows_in_health_and_never_fails_a_request() {
    let app = TestApp::spawn_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", DEAD_ENDPOINT)]).await;
    for i in 0..200 {
        let response = if i % 2 == 0 {
            app.get("/projects").await
        } else {
            app.post_json("/projects", &serde_json::json!({"name": format!("p{i}")}))
                .await
        };
        assert!(
            response.status().is_success(),
            "request {i}: {}",
            response.status()
        );
    }
    let mut report = Value::Null;
    for _ in 0..50 {
        let response = app.get("/health/telemetry").await;
        let status = response.status();
        report = response.json().await.unwrap();
        // Both signals' first export must have failed: logs and spans run on
        // their own timers, so one can fail a moment before the other.
        let failed = |signal: &str| report[signal]["failed_exports"].as_u64() > Some(0);
        if status == 503 && failed("traces") && failed("logs") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(report["status"], "degraded", "{report}");
    assert_eq!(report["traces"]["healthy"], false);
    assert!(
        report["logs"]["failed_exports"].as_u64() > Some(0),
        "{report}"
    );
    assert!(report["logs"]["last_error"].is_string());
    assert!(
        report["traces"]["pending"].as_u64() > Some(0),
        "kept for retry: {report}"
    );
}

#[tokio::test]
async fn a_hanging_collector_does_not_slow_requests() {
    // Accepts TCP connections (the kernel does) but never speaks: every
    // export hangs until its timeout.
    let blackhole = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", blackhole.local_addr().unwrap());
    let app = TestApp::spawn_with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000"),
    ])
    .await;
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    // Long enough for several exports to be stuck in their timeout.
    while started.elapsed() < Duration::from_secs(3) {
        let t = Instant::now();
        assert_eq!(app.get("/projects").await.status(), 200);
        slowest = slowest.max(t.elapsed());
    }
    // A blocked request would wait for the 5 s export timeout; we allow a
    // wide margin for a noisy machine and only catch that blocking.
    assert!(
        slowest < Duration::from_secs(2),
        "a request waited {slowest:?}"
    );
}

#[tokio::test]
async fn a_full_queue_drops_records_and_counts_them_in_health_and_in_metrics() {
    let app = TestApp::spawn_with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", DEAD_ENDPOINT),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "10"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "5"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "60000"),
        // Read the service's own metrics without a collector.
        ("ALERTINGSCOUT_PROMETHEUS_METRICS", "on"),
    ])
    .await;
    for _ in 0..100 {
        assert_eq!(app.get("/health").await.status(), 200);
    }
    let report: Value = app.get("/health/telemetry").await.json().await.unwrap();
    let dropped = report["logs"]["dropped"].as_u64().unwrap_or(0);
    assert!(dropped > 0, "{report}");

    // The same counts as metrics, so Prometheus can alert on them (read afterwards:
    // at least as many).
    let text = app.get("/metrics").await.text().await.unwrap();
    let sample = |name: &str, labels: &[&str]| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(&format!("{name}{{")) && labels.iter().all(|x| l.contains(x)))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    let records = "alertingscout_telemetry_records_total";
    let metric_dropped = sample(records, &[r#"signal="logs""#, r#"outcome="dropped""#])
        .expect("dropped logs as a metric");
    assert!(
        metric_dropped >= dropped as f64,
        "{metric_dropped} < {dropped}"
    );
    let queued = sample(records, &[r#"signal="logs""#, r#"outcome="queued""#]).expect("queued");
    assert!(queued >= 10.0, "the queue took its 10 records: {queued}");
    assert_eq!(
        sample(records, &[r#"signal="traces""#, r#"outcome="dropped""#]),
        Some(0.0),
        "every series exists from the start, at 0"
    );
    let pending =
        sample("alertingscout_telemetry_pending", &[r#"signal="logs""#]).expect("pending");
    assert!(
        pending > 0.0,
        "records wait for the dead collector: {pending}"
    );
}

#[tokio::test]
async fn records_kept_during_a_collector_outage_arrive_when_it_returns() {
    // Reserve a port, then leave it closed: the collector is "down".
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let app = TestApp::spawn_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]).await;
    for _ in 0..40 {
        let response = app.get_with_id("/health", "during-outage").await;
        assert_eq!(response.status(), 200);
    }
    // Let at least one export fail.
    let mut failed = false;
    for _ in 0..50 {
        let report: Value = app.get("/health/telemetry").await.json().await.unwrap();
        if report["traces"]["failed_exports"].as_u64() > Some(0) {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(failed, "the outage was noticed");

    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let sink = Sink::start_on(addr, None, true).await.unwrap();
    let kept = |sink: &Sink| {
        crate::telemetry_contract::spans(sink)
            .iter()
            .filter(|s| {
                crate::telemetry_contract::str_attr(&s.attributes, "request_id").as_deref()
                    == Some("during-outage")
            })
            .count()
    };
    // Retries back off up to 30 s; give them time, then check for exactly 40.
    let arrived =
        crate::telemetry_contract::eventually(Duration::from_secs(45), || kept(&sink) >= 40).await;
    assert!(arrived, "retried after the outage: {:?}", sink.counts());
    // A moment for any duplicate to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let kept = kept(&sink);
    assert_eq!(kept, 40, "every request of the outage, none twice");
}

#[tokio::test]
async fn the_prometheus_endpoint_with_telemetry_disabled_answers_a_json_404() {
    let app = TestApp::spawn_with(&[
        ("OTEL_SDK_DISABLED", "true"),
        ("ALERTINGSCOUT_PROMETHEUS_METRICS", "on"),
    ])
    .await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 404);
    let (code, _) = crate::helpers::error_of(response).await;
    assert_eq!(code, "no_route");
    assert_eq!(app.get("/projects").await.status(), 200);
}
