//! Cardinality flood on the real stack (`cargo xtask up` first): 100,000 requests
//! with random paths, random methods and random header values through the service,
//! the Collector and Prometheus. The series of `http_server_request_duration_seconds`
//! in Prometheus stay within the bound the service's code allows (1,980 label sets:
//! docs/security.md, "Hostile input"; the in-process proof is
//! service/tests/cardinality.rs), and the service's and the Collector's memory stays
//! flat after a warm-up. FLOOD_REQUESTS sets another count.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use xtask::ports;

use common::{component_pid, prom_query, prom_scalar, require_stack, rss_mib, serial, wait_for};

/// 11 route values x 10 method values x 18 outcomes (service/tests/cardinality.rs).
const SERIES_BOUND: usize = 1_980;
const SERIES: &str = "http_server_request_duration_seconds_count{job=\"alertingscout\"}";
const THREADS: usize = 4;

/// A small deterministic generator: the flood is the same every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    /// Printable ASCII (valid in a header value and a URL once encoded below).
    fn text(&mut self, max: u64) -> String {
        let len = self.next() % (max + 1);
        (0..len)
            .map(|_| char::from(b'!' + (self.next() % 94) as u8))
            .collect()
    }
}

const METHODS: [&str; 12] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "BREW",
    "MKCOL", "PURGE",
];
const WORDS: [&str; 8] = [
    "projects",
    "todos",
    "health",
    "ready",
    "telemetry",
    "admin",
    "metrics",
    "faults",
];

fn random_path(rng: &mut XorShift) -> String {
    let segments = 1 + rng.next() % 4;
    let mut path = String::new();
    for _ in 0..segments {
        path.push('/');
        match rng.next() % 3 {
            0 => path.push_str(rng.pick(&WORDS)),
            1 => path.push_str(&rng.next().to_string()),
            _ => path.extend(rng.text(12).bytes().map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b)
                } else {
                    '-'
                }
            })),
        }
    }
    path
}

/// A keep-alive HTTP/1.1 connection written by hand: HTTP client libraries refuse
/// extension methods (PROPFIND, BREW), which the flood must send.
struct Raw {
    stream: Option<BufReader<TcpStream>>,
}

impl Raw {
    /// One request: Ok when the service answered (any status), else why not. A
    /// connection the service closes (after a 4xx it answers itself) is reopened.
    fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)]) -> Result<(), String> {
        if self.stream.is_none() {
            let tcp = TcpStream::connect(("127.0.0.1", ports::SERVICE))
                .map_err(|e| format!("connect: {e}"))?;
            tcp.set_read_timeout(Some(Duration::from_secs(15)))
                .map_err(|e| e.to_string())?;
            self.stream = Some(BufReader::new(tcp));
        }
        let result = self.exchange(method, path, headers);
        if !matches!(result, Ok(true)) {
            self.stream = None;
        }
        result.map(|_| ())
    }

    /// Ok(keep the connection open).
    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<bool, String> {
        let stream = self.stream.as_mut().ok_or("no connection")?;
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 0\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream
            .get_mut()
            .write_all(head.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        let mut line = String::new();
        stream
            .read_line(&mut line)
            .map_err(|e| format!("read: {e}"))?;
        if !line.starts_with("HTTP/1.1 ") {
            return Err(format!("no status line: {line:?}"));
        }
        let (mut length, mut close) = (0usize, false);
        loop {
            line.clear();
            stream
                .read_line(&mut line)
                .map_err(|e| format!("read: {e}"))?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value
                        .parse()
                        .map_err(|_| format!("content-length {value:?}"))?;
                } else if name.eq_ignore_ascii_case("connection")
                    && value.eq_ignore_ascii_case("close")
                {
                    close = true;
                }
            }
        }
        if method != "HEAD" {
            let mut body = vec![0u8; length];
            stream
                .read_exact(&mut body)
                .map_err(|e| format!("body: {e}"))?;
        }
        Ok(!close)
    }
}

/// Sends `count` random requests from `THREADS` threads; returns how many got an answer.
fn flood(seed: u64, count: u64) -> u64 {
    let answered = AtomicU64::new(0);
    let errors = std::sync::Mutex::new(std::collections::BTreeMap::new());
    std::thread::scope(|scope| {
        for t in 0..THREADS as u64 {
            let answered = &answered;
            let errors = &errors;
            scope.spawn(move || {
                let mut rng = XorShift(seed ^ (t + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                // One keep-alive connection per thread: a connection per request would
                // run out of ephemeral ports (TIME_WAIT) long before 100,000.
                let mut raw = Raw { stream: None };
                for _ in 0..count / THREADS as u64 {
                    let method = rng.pick(&METHODS);
                    let path = random_path(&mut rng);
                    let user = rng.text(40);
                    let id = rng.text(140);
                    let parent = rng.text(60);
                    let headers = [
                        ("x-user-id", user.as_str()),
                        ("x-request-id", id.as_str()),
                        ("traceparent", parent.as_str()),
                    ];
                    match raw.send(method, &path, &headers) {
                        Ok(()) => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(why) => {
                            let why: String = why.chars().take(80).collect();
                            let mut errors = errors.lock().unwrap_or_else(|e| e.into_inner());
                            *errors.entry(why).or_insert(0u64) += 1;
                        }
                    }
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    if !errors.is_empty() {
        eprintln!("flood: requests without an answer, by reason: {errors:?}");
    }
    answered.into_inner()
}

fn series() -> Result<BTreeSet<String>> {
    Ok(prom_query(SERIES)?
        .into_iter()
        .map(|(labels, _)| labels.to_string())
        .collect())
}

fn total() -> Result<f64> {
    prom_scalar(&format!("sum({SERIES})"))
}

fn rss(component: &str) -> f64 {
    component_pid(component)
        .and_then(rss_mib)
        .unwrap_or(f64::NAN)
}

#[test]
fn a_flood_of_random_requests_keeps_series_bounded_and_memory_flat() -> Result<()> {
    require_stack();
    let _serial = serial();
    let requests: u64 = std::env::var("FLOOD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let before = series()?;

    // Warm-up: a tenth, so allocator pools and the route table settle.
    let warmup = flood(0x5eed, requests / 10);
    let (service_warm, collector_warm) = (rss("service"), rss("collector"));
    let counted_before = total()?;
    let start = Instant::now();
    let answered = flood(0xf100d, requests);
    let seconds = start.elapsed().as_secs_f64();
    anyhow::ensure!(
        answered >= requests * 99 / 100,
        "the service stopped answering during the flood: {answered} of {requests}"
    );
    // Every answered request is counted in Prometheus (the flood is the only traffic
    // under `serial`; other tests' traffic only adds).
    wait_for(
        "the flood counted in Prometheus",
        Duration::from_secs(90),
        Duration::from_secs(2),
        || Ok((total()? - counted_before >= answered as f64).then_some(())),
    )?;
    let after = series()?;
    let (service_after, collector_after) = (rss("service"), rss("collector"));
    println!(
        "FIGURE cardinality flood: {answered} of {requests} answered in {seconds:.1} s ({:.0}/s) after {warmup} warm-up; \
         duration series {} before, {} after (bound {SERIES_BOUND}); \
         service RSS {service_warm:.1} -> {service_after:.1} MiB, Collector RSS {collector_warm:.1} -> {collector_after:.1} MiB",
        answered as f64 / seconds,
        before.len(),
        after.len(),
    );
    anyhow::ensure!(
        after.len() <= SERIES_BOUND,
        "{} series of http_server_request_duration_seconds, bound {SERIES_BOUND}",
        after.len()
    );
    let new: Vec<&String> = after.difference(&before).collect();
    anyhow::ensure!(
        new.iter()
            .all(|labels| !labels.contains("request_id") && !labels.contains("url_path")),
        "a request-derived label became a series label: {new:?}"
    );
    // Generous: the flood is 10x the warm-up; a leak per request would show as tens of MiB.
    for (name, warm, after) in [
        ("service", service_warm, service_after),
        ("Collector", collector_warm, collector_after),
    ] {
        anyhow::ensure!(
            after - warm < 64.0,
            "{name} RSS grew {warm:.1} -> {after:.1} MiB during the flood"
        );
    }
    Ok(())
}
