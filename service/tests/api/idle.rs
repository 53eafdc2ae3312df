//! An idle service must cost (almost) nothing: the export thread sleeps until
//! its timers or a full batch wake it. A spin here colours every overhead
//! figure, so the budget is checked for the three idle situations: a live
//! collector, a dead one, and after a burst of traffic has drained.

use std::time::Duration;

use otlp_sink::Sink;

use crate::helpers::{TestApp, DEAD_ENDPOINT};

/// Measured over this long: long enough for several metric exports (5 s) and
/// many span/log timer ticks (1 s).
const WINDOW: Duration = Duration::from_secs(20);
/// 2 % of one core.
const MAX_SHARE_OF_A_CORE: f64 = 0.02;

/// The shipped export settings, not the tests' fast ones.
fn shipped_defaults(endpoint: &str) -> Vec<(&str, &str)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
        ("OTEL_BSP_SCHEDULE_DELAY", "1000"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "1000"),
    ]
}

/// CPU seconds (user + system, all threads) the process used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = procfs::process::Process::new(pid as i32)
        .and_then(|p| p.stat())
        .expect("reading /proc/<pid>/stat");
    (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64
}

/// Share of one core the app uses over `WINDOW`, with no requests sent.
async fn idle_share(app: &TestApp) -> f64 {
    let before = cpu_seconds(app.pid());
    tokio::time::sleep(WINDOW).await;
    let used = cpu_seconds(app.pid()) - before;
    used / WINDOW.as_secs_f64()
}

fn check(situation: &str, share: f64) {
    eprintln!("idle CPU, {situation}: {:.2} % of a core", share * 100.0);
    assert!(
        share < MAX_SHARE_OF_A_CORE,
        "an idle service ({situation}) used {:.1} % of a core over {} s (budget {} %)",
        share * 100.0,
        WINDOW.as_secs(),
        MAX_SHARE_OF_A_CORE * 100.0
    );
}

#[tokio::test]
async fn idle_with_a_live_collector_costs_under_2_percent_of_a_core() {
    let sink = Sink::start(false).await.expect("otlp sink");
    let endpoint = sink.grpc_endpoint();
    let app = TestApp::spawn_with(&shipped_defaults(&endpoint)).await;
    check("live collector", idle_share(&app).await);
    assert!(
        sink.counts().metric_data_points > 0,
        "the metric exports kept running while idle"
    );
}

#[tokio::test]
async fn idle_with_a_dead_collector_costs_under_2_percent_of_a_core() {
    let app = TestApp::spawn_with(&shipped_defaults(DEAD_ENDPOINT)).await;
    check("dead collector", idle_share(&app).await);
}

#[tokio::test]
async fn idle_after_a_drained_burst_costs_under_2_percent_of_a_core() {
    let sink = Sink::start(false).await.expect("otlp sink");
    let endpoint = sink.grpc_endpoint();
    let app = TestApp::spawn_with(&shipped_defaults(&endpoint)).await;
    for _ in 0..200 {
        assert_eq!(app.get("/health").await.status(), 200);
    }
    // Every access record reached the receiver: the queues are empty again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sink.counts().log_records < 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the burst's log records did not drain: {:?}",
            sink.counts()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check("after a drained burst", idle_share(&app).await);
}
