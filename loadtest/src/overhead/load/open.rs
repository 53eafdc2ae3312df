//! Fixed arrival rate (open model). Request i is due at start + i/rate whatever happened
//! before, and its latency is measured from that due time, so a stall shows up in every
//! request it delayed (no coordinated omission). Requests are dealt round-robin to the
//! connections; a connection that is still busy sends its next request late and the
//! lateness is charged to that request.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::overhead::endpoint::RequestBuilder;
use crate::overhead::load::http1::Conn;

#[derive(Clone, Debug, Serialize)]
pub struct FixedRate {
    pub rate: f64,
    pub scheduled: u64,
    /// Requests answered (any status).
    pub responses: u64,
    /// Non-2xx responses and transport errors.
    pub errors: u64,
    /// Requests still unsent when the phase overran its grace period.
    pub not_sent: u64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    /// How late the generator woke up for requests it had to wait for (p99): large values
    /// mean CPU 1 was overloaded, not the server.
    pub send_lag_p99_us: f64,
    /// Requests whose connection was still busy with the previous one when they were due
    /// (they start late and that wait is part of their latency).
    pub started_behind_schedule: u64,
    /// Server CPU (all threads, from schedstat) per answered request during this phase:
    /// at a fixed rate both modes pay the same wake-ups per request, so the on/off
    /// difference is the telemetry's own cost (filled in by the caller).
    pub server_cpu_us_per_request: f64,
}

struct Worker {
    latency: Histogram<u64>,
    lag: Histogram<u64>,
    responses: u64,
    errors: u64,
    not_sent: u64,
    behind: u64,
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    // Nanoseconds, 1 µs to 60 s at 3 significant digits.
    Ok(Histogram::new_with_bounds(1_000, 60_000_000_000, 3)?)
}

pub fn run(
    addr: SocketAddr,
    builder: &RequestBuilder,
    rate: f64,
    duration: Duration,
    connections: usize,
) -> anyhow::Result<FixedRate> {
    anyhow::ensure!(
        rate > 0.0 && connections > 0,
        "rate and connections must be positive"
    );
    let scheduled = (rate * duration.as_secs_f64()).round() as u64;
    let period_ns = 1e9 / rate;
    // Room for everyone to connect before the first request is due.
    let start = Instant::now() + Duration::from_millis(100);
    // A server far slower than the rate would keep us here forever; cut off and report.
    let deadline = start + duration + duration.max(Duration::from_secs(2));

    let workers: Vec<anyhow::Result<Worker>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..connections)
            .map(|j| {
                s.spawn(move || {
                    let plan = Plan {
                        start,
                        period_ns,
                        first: j as u64,
                        stride: connections as u64,
                        total: scheduled,
                        deadline,
                    };
                    drive(addr, builder, plan)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("load thread panicked")))
            })
            .collect()
    });

    let mut latency = histogram()?;
    let mut lag = histogram()?;
    let (mut responses, mut errors, mut not_sent, mut behind) = (0, 0, 0, 0);
    for w in workers {
        let w = w?;
        latency.add(&w.latency)?;
        lag.add(&w.lag)?;
        responses += w.responses;
        errors += w.errors;
        not_sent += w.not_sent;
        behind += w.behind;
    }
    let us = |ns: u64| ns as f64 / 1000.0;
    Ok(FixedRate {
        rate,
        scheduled,
        responses,
        errors,
        not_sent,
        p50_us: us(latency.value_at_quantile(0.5)),
        p90_us: us(latency.value_at_quantile(0.9)),
        p99_us: us(latency.value_at_quantile(0.99)),
        p999_us: us(latency.value_at_quantile(0.999)),
        max_us: us(latency.max()),
        send_lag_p99_us: us(lag.value_at_quantile(0.99)),
        started_behind_schedule: behind,
        server_cpu_us_per_request: 0.0,
    })
}

#[derive(Clone, Copy, Debug)]
struct Plan {
    start: Instant,
    period_ns: f64,
    first: u64,
    stride: u64,
    total: u64,
    deadline: Instant,
}

impl Plan {
    fn due(&self, i: u64) -> Instant {
        self.start + Duration::from_nanos((i as f64 * self.period_ns) as u64)
    }

    fn indices(&self) -> impl Iterator<Item = u64> {
        (self.first..self.total).step_by(self.stride as usize)
    }
}

fn drive(addr: SocketAddr, builder: &RequestBuilder, plan: Plan) -> anyhow::Result<Worker> {
    crate::timer_slack::tighten();
    let mut w = Worker {
        latency: histogram()?,
        lag: histogram()?,
        responses: 0,
        errors: 0,
        not_sent: 0,
        behind: 0,
    };
    let mut conn = Conn::connect(addr).ok();
    let mut scratch = Vec::with_capacity(512);
    let mut indices = plan.indices();
    while let Some(i) = indices.next() {
        let due = plan.due(i);
        let now = Instant::now();
        if now > plan.deadline {
            w.not_sent += 1 + indices.count() as u64;
            break;
        }
        if due > now {
            std::thread::sleep(due - now);
        }
        w.lag
            .saturating_record(Instant::now().saturating_duration_since(due).as_nanos() as u64);
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::connect(addr) {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    w.errors += 1;
                    continue;
                }
            },
        };
        match c.status(builder.build(i, &mut scratch)) {
            Ok(status) => {
                w.responses += 1;
                if !(200..300).contains(&status) {
                    w.errors += 1;
                }
                let took = Instant::now().saturating_duration_since(due);
                w.latency.saturating_record(took.as_nanos() as u64);
            }
            Err(_) => {
                w.errors += 1;
                conn = None;
            }
        }
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_deals_requests_round_robin_on_schedule() {
        let start = Instant::now();
        let plan = Plan {
            start,
            period_ns: 500_000.0,
            first: 1,
            stride: 4,
            total: 10,
            deadline: start,
        };
        assert_eq!(plan.indices().collect::<Vec<_>>(), vec![1, 5, 9]);
        assert_eq!(plan.due(5) - start, Duration::from_micros(2500));
    }

    #[test]
    fn histogram_percentiles() {
        let mut h = histogram().unwrap();
        for us in 1..=1000u64 {
            h.record(us * 1000).unwrap();
        }
        let p50 = h.value_at_quantile(0.5) as f64 / 1000.0;
        let p99 = h.value_at_quantile(0.99) as f64 / 1000.0;
        assert!((499.0..=501.0).contains(&p50), "{p50}");
        assert!((989.0..=991.0).contains(&p99), "{p99}");
    }
}
