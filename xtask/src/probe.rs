//! HTTP and TCP probes of the stack's components.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

/// The status code of a GET, or None when nothing answers.
pub fn status(url: &str) -> Option<u16> {
    agent(Duration::from_secs(3))
        .get(url)
        .call()
        .ok()
        .map(|r| r.status().as_u16())
}

pub fn is_ok(url: &str) -> bool {
    matches!(status(url), Some(200..=299))
}

/// `status` with an `Authorization` header (Elasticsearch has security on).
pub fn status_as(url: &str, authorization: &str) -> Option<u16> {
    agent(Duration::from_secs(3))
        .get(url)
        .header("Authorization", authorization)
        .call()
        .ok()
        .map(|r| r.status().as_u16())
}

pub fn is_ok_as(url: &str, authorization: &str) -> bool {
    matches!(status_as(url, authorization), Some(200..=299))
}

/// `get_json` with an `Authorization` header.
pub fn get_json_as(url: &str, authorization: &str) -> Result<serde_json::Value> {
    let mut resp = agent(Duration::from_secs(10))
        .get(url)
        .header("Authorization", authorization)
        .call()
        .with_context(|| format!("GET {url}"))?;
    let code = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    if !(200..300).contains(&code) {
        bail!("GET {url}: HTTP {code}: {body}");
    }
    serde_json::from_str(&body).with_context(|| format!("GET {url}: not JSON"))
}

/// Polls `url` until it answers 2xx or `timeout` passes.
pub fn wait_ok(url: &str, timeout: Duration) -> Result<Duration> {
    let start = Instant::now();
    loop {
        if is_ok(url) {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            bail!("{url} not healthy after {} s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

pub fn get_text(url: &str) -> Result<String> {
    let mut resp = agent(Duration::from_secs(10))
        .get(url)
        .call()
        .with_context(|| format!("GET {url}"))?;
    let code = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    if !(200..300).contains(&code) {
        bail!("GET {url}: HTTP {code}: {body}");
    }
    Ok(body)
}

pub fn get_json(url: &str) -> Result<serde_json::Value> {
    let text = get_text(url)?;
    serde_json::from_str(&text).with_context(|| format!("GET {url}: not JSON"))
}

/// True when something accepts connections on 127.0.0.1:`port`.
pub fn port_in_use(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// A sample's value from Prometheus text exposition: the sum of every series of
/// `name` whose labels contain all of `labels` (`key="value"` pairs).
pub fn sum_samples(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    promtext::sum(text, name, labels)
}

#[cfg(test)]
mod tests {
    use super::sum_samples;

    #[test]
    fn sums_matching_series_only() {
        let text = "# HELP x\nx_total{a=\"1\",b=\"2\"} 3\nx_total{a=\"2\"} 4\nx_total_other 9\nx_total 5 1700000000\n";
        let cases: &[(&[(&str, &str)], f64)] =
            &[(&[], 12.0), (&[("a", "1")], 3.0), (&[("a", "3")], 0.0)];
        for (labels, want) in cases {
            assert_eq!(sum_samples(text, "x_total", labels), *want, "{labels:?}");
        }
    }
}
