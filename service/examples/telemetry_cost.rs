//! Telemetry CPU cost per request without the network: drives the real
//! router in-process (tower `oneshot`) on a current-thread runtime and reads
//! the whole process's CPU time (request path plus the export thread, after
//! the final flush). A profiling aid beside the end-to-end benchmark in
//! `loadtest overhead` (docs/performance.md), which is the one that counts.
//!
//! cargo run --release -p alertingscout --example telemetry_cost -- on|off [requests] [health|post] [warmup]
//! (with `on`, point OTEL_EXPORTER_OTLP_ENDPOINT at a receiver, e.g. target/release/otlp-sink).
//! `loadtest instructions` runs it under callgrind: the deterministic overhead gate.
//! TELEMETRY_COST_SWITCHES='{"traces":{"sample_ratio":0.1}}' applies run-time export
//! switches first (the body of `PATCH /admin/telemetry`), to measure what they save.

use alertingscout::configuration::Settings;
use alertingscout::startup::app;
use alertingscout::telemetry::config::OtelConfig;
use alertingscout::telemetry::switches::SwitchUpdate;
use alertingscout::telemetry::Telemetry;
use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let on = args.get(1).map(String::as_str) != Some("off");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let post = args.get(3).map(String::as_str) == Some("post");
    // A fixed warm-up lets runs of N and 2N requests differ by exactly N requests.
    let warmup: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(n / 10);
    let mut config = OtelConfig::from_env().map_err(anyhow::Error::msg)?;
    config.sdk_disabled = !on;
    let telemetry = Telemetry::init(config, false, false)?;
    if let Ok(switches) = std::env::var("TELEMETRY_COST_SWITCHES") {
        let update = SwitchUpdate::parse(serde_json::from_str(&switches)?)
            .map_err(|e| anyhow::anyhow!("TELEMETRY_COST_SWITCHES: {e}"))?;
        telemetry.handle().switches().apply(update);
    }
    // Removed on drop, at the end of main.
    let dir = tempfile::tempdir()?;
    let settings = Settings::for_tests(dir.path().join("db.sqlite"));
    let app = app(&settings, telemetry.handle())?;
    // The service's hook (main.rs): requests' records made when the runtime idles.
    // This loop idles only while POST /projects waits for the blocking pool, so GET
    // /health is counted recording at once, POST /projects deferring.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(alertingscout::telemetry::after_response::on_worker_park)
        .build()?;
    let request = move || {
        if post {
            Request::post("/projects")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"name":"bench"}"#))
        } else {
            Request::get("/health").body(Body::empty())
        }
    };
    let start = runtime.block_on(async {
        for _ in 0..warmup {
            let _ = app.clone().oneshot(request()?).await;
        }
        let start = (cpu_seconds(), std::time::Instant::now());
        for _ in 0..n {
            let response = app.clone().oneshot(request()?).await?;
            assert!(response.status().is_success());
        }
        anyhow::Ok(start)
    })?;
    telemetry.shutdown();
    let cpu = cpu_seconds() - start.0;
    println!(
        "telemetry {}: {:.2} us CPU/request over {n} requests ({:.2} s wall)",
        if on { "on " } else { "off" },
        cpu * 1e6 / n as f64,
        start.1.elapsed().as_secs_f64()
    );
    Ok(())
}
