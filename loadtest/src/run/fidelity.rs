//! Metric fidelity: the requests this run got answers to, per route, against what the
//! service itself counted (`http_server_request_duration_seconds_count`, summed over
//! status codes), read before and after the run from the service's `/metrics` or from
//! Prometheus' query API. Any route whose counts differ is a mismatch, and
//! `fidelity_mismatches: count == 0` is a threshold of every run that checks fidelity.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use crate::run::mix::action::ALL;

pub const COUNTER: &str = "http_server_request_duration_seconds_count";

/// Where the service's own counts are read.
#[derive(Clone, Debug)]
pub enum Source {
    /// The service's Prometheus endpoint, e.g. http://127.0.0.1:8080/metrics.
    Metrics(String),
    /// A Prometheus server scraping the service, e.g. http://127.0.0.1:9090.
    Prometheus(String),
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Metrics(u) => u.clone(),
            Source::Prometheus(u) => format!("Prometheus at {u}"),
        }
    }

    /// Counts by route tag ("GET /projects/{id}"), API routes only.
    pub fn read(&self) -> anyhow::Result<BTreeMap<String, u64>> {
        let counts = match self {
            Source::Metrics(url) => parse_exposition(&get(url)?),
            Source::Prometheus(url) => {
                let query = format!("sum by (http_request_method, http_route) ({COUNTER})");
                let url = format!("{}/api/v1/query", url.trim_end_matches('/'));
                parse_prometheus_query(&get_query(&url, &query)?)?
            }
        };
        let api: Vec<&str> = ALL.iter().map(|a| a.tag()).collect();
        Ok(counts
            .into_iter()
            .filter(|(k, _)| api.contains(&k.as_str()))
            .collect())
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RouteFidelity {
    pub route: String,
    pub sent: u64,
    pub counted: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub source: String,
    pub routes: Vec<RouteFidelity>,
    pub mismatches: u64,
}

/// The counts before the run, taken after a `GET /health` that proves the service
/// answers. The service's own endpoint counts that probe at once. Prometheus counts it
/// only after the service's next metric export and the next scrape, and requests made
/// just before the run arrive the same way: so we wait until the probe shows up, then
/// one more export-and-scrape cycle, and read the baseline then. Read earlier, the
/// probe or a straggler would count as part of the run.
pub fn baseline(
    source: &Source,
    target: &str,
    wait: Duration,
) -> anyhow::Result<BTreeMap<String, u64>> {
    const PROBE: &str = "GET /health";
    /// The service exports every 5 s (OTEL_METRIC_EXPORT_INTERVAL) and Prometheus
    /// scrapes every 5 s (prometheus/prometheus.yml); 2 s of margin.
    const SETTLE: Duration = Duration::from_secs(12);
    let first = source.read()?;
    get(&format!("{target}/health"))
        .with_context(|| format!("the target {target} does not answer GET /health"))?;
    let probed = Instant::now();
    if matches!(source, Source::Metrics(_)) {
        return source.read();
    }
    let seen = first.get(PROBE).copied().unwrap_or(0);
    let deadline = probed + wait;
    while source.read()?.get(PROBE).copied().unwrap_or(0) <= seen {
        if Instant::now() >= deadline {
            anyhow::bail!(
                "{} did not count a GET /health within {} s: is it scraping the service?",
                source.describe(),
                wait.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(SETTLE.saturating_sub(probed.elapsed()));
    source.read()
}

/// Compares `ours` with the service's counts after - before, reading again until they
/// agree or `wait` is over (the service or Prometheus may not have counted the last
/// requests yet).
pub fn compare(
    source: &Source,
    before: &BTreeMap<String, u64>,
    ours: &BTreeMap<String, u64>,
    wait: Duration,
) -> anyhow::Result<Report> {
    let deadline = Instant::now() + wait;
    loop {
        let after = source.read()?;
        let report = diff(source, before, &after, ours);
        if report.mismatches == 0 || Instant::now() >= deadline {
            return Ok(report);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn diff(
    source: &Source,
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    ours: &BTreeMap<String, u64>,
) -> Report {
    let mut routes: Vec<String> = ours.keys().chain(after.keys()).cloned().collect();
    routes.sort();
    routes.dedup();
    let rows: Vec<RouteFidelity> = routes
        .into_iter()
        .map(|route| {
            let counted = after
                .get(&route)
                .copied()
                .unwrap_or(0)
                .saturating_sub(before.get(&route).copied().unwrap_or(0));
            RouteFidelity {
                sent: ours.get(&route).copied().unwrap_or(0),
                counted,
                route,
            }
        })
        .filter(|r| r.sent > 0 || r.counted > 0)
        .collect();
    Report {
        source: source.describe(),
        mismatches: rows.iter().filter(|r| r.sent != r.counted).count() as u64,
        routes: rows,
    }
}

/// Sums the counter per (method, route) over every other label.
pub fn parse_exposition(text: &str) -> BTreeMap<String, u64> {
    by_route(promtext::sum_by(text, COUNTER, &ROUTE_LABELS))
}

/// The labels that name a route, in the order of its tag ("GET /projects/{id}").
const ROUTE_LABELS: [&str; 2] = ["http_request_method", "http_route"];

/// `[method, route] -> count` as `"METHOD route" -> count`.
fn by_route(sums: BTreeMap<Vec<String>, f64>) -> BTreeMap<String, u64> {
    sums.into_iter()
        .map(|(key, v)| (key.join(" "), v as u64))
        .collect()
}

fn parse_prometheus_query(body: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    let v: serde_json::Value = serde_json::from_str(body).context("Prometheus answer")?;
    anyhow::ensure!(v["status"] == "success", "Prometheus query failed: {body}");
    let mut out = BTreeMap::new();
    for series in v["data"]["result"].as_array().into_iter().flatten() {
        let m = series["metric"]["http_request_method"].as_str();
        let r = series["metric"]["http_route"].as_str();
        let value = series["value"][1]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok());
        if let (Some(m), Some(r), Some(value)) = (m, r, value) {
            *out.entry(format!("{m} {r}")).or_insert(0) += value as u64;
        }
    }
    Ok(out)
}

/// The service and Prometheus are read through ureq, the client xtask uses: these are a
/// few requests per run, so the generator's hand-made HTTP/1 client (whose cost matters
/// only under load) is not needed here.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        // A stuck server must fail the run, not hang it.
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into()
}

pub fn get(url: &str) -> anyhow::Result<String> {
    read(url, agent().get(url))
}

/// GET `url?query=...`, the query string encoded by ureq.
fn get_query(url: &str, query: &str) -> anyhow::Result<String> {
    read(url, agent().get(url).query("query", query))
}

fn read(
    url: &str,
    request: ureq::RequestBuilder<ureq::typestate::WithoutBody>,
) -> anyhow::Result<String> {
    let mut resp = request
        .header("x-user-id", "loadtest")
        .call()
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status().as_u16();
    anyhow::ensure!(
        status == 200,
        "GET {url} answered {status} (is ALERTINGSCOUT_PROMETHEUS_METRICS=on?)"
    );
    resp.body_mut()
        .read_to_string()
        .with_context(|| format!("GET {url}: reading the body"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP http_server_request_duration_seconds Duration of HTTP server requests.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{http_request_method="GET",http_response_status_code="200",http_route="/health",otel_scope_name="alertingscout",le="0.005"} 3
http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/health",otel_scope_name="alertingscout"} 7
http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="404",http_route="/projects/{id}",otel_scope_name="alertingscout"} 2
http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/projects/{id}",otel_scope_name="a, \"b\""} 5
http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/metrics",otel_scope_name="alertingscout"} 1
"#;

    #[test]
    fn sums_over_status_codes() {
        let c = parse_exposition(TEXT);
        assert_eq!(c.get("GET /health"), Some(&7));
        assert_eq!(c.get("GET /projects/{id}"), Some(&7));
        assert_eq!(c.get("GET /metrics"), Some(&1));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn diff_counts_mismatched_routes() {
        let src = Source::Metrics("m".into());
        let before = BTreeMap::from([("GET /health".to_owned(), 2)]);
        let after = BTreeMap::from([
            ("GET /health".to_owned(), 12),
            ("POST /projects".to_owned(), 4),
        ]);
        let ours = BTreeMap::from([
            ("GET /health".to_owned(), 10),
            ("POST /projects".to_owned(), 5),
        ]);
        let r = diff(&src, &before, &after, &ours);
        assert_eq!(r.mismatches, 1);
        assert_eq!(r.routes.len(), 2);
    }

    #[test]
    fn prometheus_answers() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"http_request_method":"GET","http_route":"/health"},"value":[1.0,"41"]}]}}"#;
        assert_eq!(
            parse_prometheus_query(body).unwrap().get("GET /health"),
            Some(&41)
        );
        assert!(parse_prometheus_query(r#"{"status":"error"}"#).is_err());
    }

    #[test]
    fn reads_over_http_with_the_query_encoded() {
        // A one-shot server that echoes the request line it got as its body.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            use std::io::{BufRead, BufReader, Write};
            let (stream, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&stream).read_line(&mut line).unwrap();
            let body = line.trim_end();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        });
        let url = format!("http://{addr}/api/v1/query");
        let echoed = get_query(&url, "sum(a{b=\"c d\"})").unwrap();
        server.join().unwrap();
        let target = echoed.split(' ').nth(1).unwrap_or_default();
        assert!(target.starts_with("/api/v1/query?query=sum"), "{echoed}");
        assert!(
            !target.contains(['"', '{', ' ']),
            "the query is encoded: {echoed}"
        );
        assert!(get("http://127.0.0.1:1/metrics").is_err());
    }
}
