//! Cardinality flood (issue 15): 100,000 requests with random paths, random
//! methods and random header values through the real router (in-process)
//! keep the metric series within the bound derived from the code, and the
//! process's memory flat after a warm-up. Its own test binary so that its
//! RSS is not another test's.
//!
//! The bound, for `http.server.request.duration` (the one instrument with
//! request-derived labels; request ids, paths and user ids are never labels):
//!   routes   11 = the router's 10 templates (with /metrics on, and the
//!                 run-time telemetry switches' /admin/telemetry) + `unmatched`
//!   methods  10 = `route::METHODS` (9 standard ones + `_OTHER`)
//!   outcomes 18 = the 12 status codes below 500 the app answers
//!                 (200 201 204 400 401 404 405 408 413 415 422 431)
//!               + 500 with error.type internal_error, panic, injected_fault
//!                 or "500" (a /metrics render failure)
//!               + 503 (readiness, telemetry health; error.type "503")
//!               + no status code with error.type=cancelled
//!   => at most 11 x 10 x 18 = 1,980 label sets.
//!
//! `cargo test -p alertingscout --test cardinality -- --nocapture` prints the
//! figures (`CARDINALITY_REQUESTS` sets another count).

// Shared with the hostile binary, which uses the rest of it.
#[allow(dead_code)]
#[path = "hostile/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use alertingscout::telemetry::route::{METHODS, UNMATCHED_ROUTE};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request};
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// 33-53 s in a debug build on the shared 2 cores: the full count even there.
const REQUESTS: usize = 100_000;

const ROUTES: [&str; 11] = [
    "/projects",
    "/projects/{id}",
    "/projects/{project_id}/todos",
    "/todos/{id}",
    "/health",
    "/ready",
    "/health/telemetry",
    "/admin/faults",
    "/admin/telemetry",
    "/metrics",
    UNMATCHED_ROUTE,
];

/// Status code label values (and "" for none: a cancelled request).
const OUTCOMES: usize = 18;
const STATUS_CODES: [&str; 15] = [
    "200", "201", "204", "400", "401", "404", "405", "408", "413", "415", "422", "431", "500",
    "503", "",
];
const SERIES_BOUND: usize = ROUTES.len() * METHODS.len() * OUTCOMES;

const DURATION_COUNT: &str = "http_server_request_duration_seconds_count";

fn random_text(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let len = rng.random_range(0..=max);
    (0..len)
        .map(|_| match rng.random_range(0..10) {
            0 => rng.random_range(0x80..=0xffu8),
            1 => b'\t',
            _ => rng.random_range(0x20..=0x7eu8),
        })
        .collect()
}

fn random_segment(rng: &mut StdRng) -> String {
    match rng.random_range(0..6) {
        0 => rng.random::<u64>().to_string(),
        // Every word of a route: a new route reached by the flood and missing
        // from ROUTES fails the label check.
        1 => [
            "projects",
            "todos",
            "health",
            "ready",
            "telemetry",
            "admin",
            "faults",
            "metrics",
            "",
        ][rng.random_range(0..9)]
        .to_owned(),
        _ => random_text(rng, 16)
            .iter()
            .map(|&b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect(),
    }
}

fn random_request(rng: &mut StdRng) -> Request<Body> {
    let method = match rng.random_range(0..4) {
        0 => {
            let len = rng.random_range(1..16);
            let token: String = (0..len)
                .map(|_| rng.random_range(b'A'..=b'Z') as char)
                .collect();
            Method::from_bytes(token.as_bytes()).unwrap_or(Method::GET)
        }
        _ => [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::HEAD,
            Method::OPTIONS,
            Method::TRACE,
        ][rng.random_range(0..8)]
        .clone(),
    };
    let path = match rng.random_range(0..5) {
        0 => format!("/projects/{}", random_segment(rng)),
        1 => format!("/projects/{}/todos", random_segment(rng)),
        2 => format!("/todos/{}", random_segment(rng)),
        _ => {
            let n = rng.random_range(0..5);
            let segments: Vec<String> = (0..n).map(|_| random_segment(rng)).collect();
            format!("/{}", segments.join("/"))
        }
    };
    let mut builder = Request::builder().method(method).uri(path.as_str());
    for name in ["x-request-id", "x-user-id", "traceparent", "tracestate"] {
        if rng.random_bool(0.5) {
            if let Ok(value) = HeaderValue::from_bytes(&random_text(rng, 64)) {
                builder = builder.header(name, value);
            }
        }
    }
    // Headers nobody reads, with random names: never labels either.
    for _ in 0..rng.random_range(0..3) {
        let name = format!("x-random-{}", rng.random::<u32>());
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&random_text(rng, 32)),
        ) {
            builder = builder.header(name, value);
        }
    }
    let body = if rng.random_bool(0.2) {
        builder = builder.header("content-type", "application/json");
        Body::from(random_text(rng, 40))
    } else {
        Body::empty()
    };
    builder.body(body).unwrap_or_else(|_| {
        Request::get("/health")
            .body(Body::empty())
            .expect("a fixed request")
    })
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// The label sets of the duration histogram, and how many sample lines the
/// whole exposition has.
async fn series() -> (BTreeSet<BTreeMap<String, String>>, usize) {
    let answer = support::send(
        Request::get("/metrics")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, 200);
    let text = String::from_utf8(answer.body).expect("UTF-8");
    let samples = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count();
    let sets = text
        .lines()
        .filter_map(|line| line.strip_prefix(DURATION_COUNT))
        .map(|rest| {
            let labels = rest
                .strip_prefix('{')
                // The value follows the last brace: route templates hold braces.
                .and_then(|r| r.rsplit_once('}'))
                .map_or("", |(labels, _)| labels);
            labels
                .split("\",")
                .filter_map(|pair| pair.split_once("=\""))
                .map(|(k, v)| (k.to_owned(), v.trim_end_matches('"').to_owned()))
                .collect()
        })
        .collect();
    (sets, samples)
}

async fn flood(rng: &mut StdRng, n: usize) -> [usize; 6] {
    let mut classes = [0usize; 6];
    // Made as they are sent: a list of them all would be the test's own growth.
    let mut answers = futures_util::stream::iter(0..n)
        .map(|_| support::send(random_request(rng)))
        .buffer_unordered(32);
    while let Some(answer) = answers.next().await {
        classes[usize::from(answer.status.as_u16() / 100)] += 1;
        assert!(
            !answer.status.is_server_error(),
            "{} {:?}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    classes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_random_requests_keep_series_bounded_and_memory_flat() {
    let total = std::env::var("CARDINALITY_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(REQUESTS);
    let warmup = total / 10;
    let seed: u64 = 15; // the number: any fixed seed
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    flood(&mut rng, warmup).await;
    let (warm_sets, warm_samples) = series().await;
    let rss_before = rss_kib();
    let classes = flood(&mut rng, total - warmup).await;
    let elapsed = started.elapsed();
    let (sets, samples) = series().await;
    let rss_after = rss_kib();

    println!(
        "cardinality flood: {total} requests (seed {seed}) in {:.1} s ({:.0}/s); \
         answers by class 2xx {} 3xx {} 4xx {} 5xx {}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        classes[2],
        classes[3],
        classes[4],
        classes[5]
    );
    println!(
        "duration series: {} after the warm-up ({warmup} requests), {} at the end (bound {SERIES_BOUND}); \
         exposition samples {warm_samples} -> {samples}",
        warm_sets.len(),
        sets.len()
    );
    println!(
        "RSS: {:.1} MiB after the warm-up, {:.1} MiB at the end ({:+.1} MiB)",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        (rss_after as f64 - rss_before as f64) / 1024.0
    );

    assert!(
        sets.len() <= SERIES_BOUND,
        "{} series over the bound",
        sets.len()
    );
    for set in &sets {
        let route = set.get("http_route").map(String::as_str).unwrap_or("");
        let method = set
            .get("http_request_method")
            .map(String::as_str)
            .unwrap_or("");
        let status = set
            .get("http_response_status_code")
            .map(String::as_str)
            .unwrap_or("");
        assert!(ROUTES.contains(&route), "route label {route:?} in {set:?}");
        assert!(METHODS.contains(&method), "method label {method:?}");
        assert!(STATUS_CODES.contains(&status), "status label {status:?}");
        for forbidden in ["url_path", "request_id", "user_id", "url_full"] {
            assert!(!set.contains_key(forbidden), "{forbidden} as a label");
        }
    }
    // Everything but the duration histogram is independent of the requests:
    // at most the new duration series' lines (buckets + sum + count) and a few
    // health counters that appear once (e.g. the first dropped record).
    let per_series = alertingscout::telemetry::metrics::DURATION_BUCKETS.len() + 3;
    let grown = samples.saturating_sub(warm_samples);
    assert!(
        grown <= (sets.len() - warm_sets.len().min(sets.len())) * per_series + 20,
        "the exposition grew by {grown} samples"
    );
    // Judged generously: allocator slack, not per-request growth (which at
    // 90,000 requests would be tens of MiB).
    assert!(
        rss_after <= rss_before + 32 * 1024,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
}
