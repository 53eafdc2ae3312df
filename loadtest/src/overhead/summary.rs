//! Turns the runs of every round into the figures the gate judges and the JSON shows:
//! per endpoint a [`Figure`] per measurement (each mode, each pair of modes within a
//! round), the budgets' verdicts, and what the receiver got from each run.

use serde::Serialize;

use crate::overhead::budget::{self, BudgetVerdict};
use crate::overhead::endpoint::Endpoint;
use crate::overhead::figure::{Figure, Sample};
use crate::overhead::mode::Mode;
use crate::overhead::mode_run::{EndpointRun, Run};

#[derive(Clone, Debug, Serialize)]
pub struct EndpointSummary {
    pub endpoint: Endpoint,
    pub rounds: usize,
    pub cpu_us_per_request: Figure,
    /// `cpu_us_per_request` split by thread: serving requests, exporting telemetry.
    pub serving_cpu_us_per_request: Figure,
    pub export_cpu_us_per_request: Figure,
    pub requests_per_second: Figure,
    pub server_core_share: Figure,
    pub foreign_load_on_server_core: Figure,
    pub bench_cpu_share: Figure,
    pub p50_us: Figure,
    pub p99_us: Figure,
    pub fixed_rate_cpu_us_per_request: Figure,
    /// AC-005 and our own budgets, judged on the medians over rounds: lean against off
    /// (these set the exit code), then sdk against off (information).
    pub budgets: Vec<BudgetVerdict>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RecordRow {
    pub round: usize,
    pub mode: Mode,
    pub requests_sent: u64,
    pub spans: u64,
    pub log_records: u64,
    pub metric_data_points: u64,
    pub dropped_spans: u64,
    pub dropped_log_records: u64,
}

impl RecordRow {
    pub fn dropped(&self) -> bool {
        self.dropped_spans + self.dropped_log_records > 0
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The modes that ran, in the report's order.
    pub modes: Vec<Mode>,
    pub endpoints: Vec<EndpointSummary>,
    /// Telemetry runs (sdk and lean), in the order they ran: requests sent versus
    /// records received.
    pub records: Vec<RecordRow>,
    /// Records received during off runs; anything but 0 means OTEL_SDK_DISABLED was
    /// not honoured.
    pub records_while_off: u64,
    pub errors: u64,
}

impl Summary {
    /// Every binding (lean) verdict passed; sdk's verdicts do not count.
    pub fn budgets_met(&self) -> bool {
        self.endpoints
            .iter()
            .flat_map(|e| &e.budgets)
            .filter(|v| v.binding)
            .all(|v| v.pass)
    }
}

fn endpoint_of(run: &Run, ep: Endpoint) -> Option<&EndpointRun> {
    run.endpoints.iter().find(|e| e.endpoint == ep)
}

fn figure(runs: &[Run], ep: Endpoint, value: impl Fn(&EndpointRun) -> f64) -> Figure {
    let samples: Vec<Sample> = runs
        .iter()
        .filter_map(|r| {
            endpoint_of(r, ep).map(|e| Sample {
                round: r.round,
                mode: r.mode,
                value: value(e),
            })
        })
        .collect();
    Figure::from_samples(&samples)
}

fn endpoint_summary(runs: &[Run], ep: Endpoint, rounds: usize) -> EndpointSummary {
    let cpu_us_per_request = figure(runs, ep, |e| e.saturation.cpu_us_per_request);
    let p50_us = figure(runs, ep, |e| e.fixed_rate.p50_us);
    let budgets = [Mode::Lean, Mode::Sdk]
        .into_iter()
        .flat_map(|m| budget::judge(ep, m, &cpu_us_per_request, &p50_us))
        .collect();
    EndpointSummary {
        endpoint: ep,
        rounds,
        cpu_us_per_request,
        serving_cpu_us_per_request: figure(runs, ep, |e| e.saturation.serving_cpu_us_per_request),
        export_cpu_us_per_request: figure(runs, ep, |e| e.saturation.export_cpu_us_per_request),
        requests_per_second: figure(runs, ep, |e| e.saturation.requests_per_second),
        server_core_share: figure(runs, ep, |e| 100.0 * e.saturation.server_core_share),
        foreign_load_on_server_core: figure(runs, ep, |e| {
            100.0 * e.saturation.foreign_load_on_server_core
        }),
        bench_cpu_share: figure(runs, ep, |e| 100.0 * e.saturation.bench_cpu_share),
        p50_us,
        p99_us: figure(runs, ep, |e| e.fixed_rate.p99_us),
        fixed_rate_cpu_us_per_request: figure(runs, ep, |e| e.fixed_rate.server_cpu_us_per_request),
        budgets,
    }
}

pub fn summarize(runs: &[Run], endpoints: &[Endpoint]) -> Summary {
    let rounds = runs.iter().map(|r| r.round + 1).max().unwrap_or(0);
    let mut modes: Vec<Mode> = runs.iter().map(|r| r.mode).collect();
    modes.sort();
    modes.dedup();
    let endpoints = endpoints
        .iter()
        .map(|&ep| endpoint_summary(runs, ep, rounds))
        .collect();
    // The receiver counts every run's records together; each run's share is the change
    // of its counters between the run's start and its server's exit (runs never overlap).
    let records = runs
        .iter()
        .filter(|r| r.mode.telemetry())
        .map(|r| RecordRow {
            round: r.round,
            mode: r.mode,
            requests_sent: r.requests_sent,
            spans: r.received.spans,
            log_records: r.received.log_records,
            metric_data_points: r.received.metric_data_points,
            dropped_spans: r.expected.spans.saturating_sub(r.received.spans),
            dropped_log_records: r
                .expected
                .log_records
                .saturating_sub(r.received.log_records),
        })
        .collect();
    let records_while_off = runs
        .iter()
        .filter(|r| !r.mode.telemetry())
        .map(|r| r.received.spans + r.received.log_records + r.received.metric_data_points)
        .sum();
    Summary {
        modes,
        endpoints,
        records,
        records_while_off,
        errors: runs.iter().map(|r| r.errors).sum(),
    }
}

/// Runs made up for the tests of this module and of the report.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::overhead::endpoint::Endpoint;
    use crate::overhead::load::closed::Saturation;
    use crate::overhead::load::open::FixedRate;
    use crate::overhead::mode::Mode;
    use crate::overhead::mode_run::{EndpointRun, Expected, Received, Run};

    pub const SENT: u64 = 100;

    /// One run serving GET /health: `cpu` µs/request at saturation and at the fixed rate
    /// (plus 1), median `p50` µs; telemetry modes deliver `spans` spans and a log per
    /// request, off delivers nothing.
    pub fn run(round: usize, mode: Mode, cpu: f64, p50: f64, spans: u64) -> Run {
        Run {
            round,
            mode,
            endpoints: vec![EndpointRun {
                endpoint: Endpoint::Health,
                saturation: Saturation {
                    requests: 1,
                    cpu_seconds: 0.0,
                    wall_seconds: 1.0,
                    cpu_us_per_request: cpu,
                    serving_cpu_us_per_request: cpu * 0.9,
                    export_cpu_us_per_request: if mode.telemetry() { cpu * 0.1 } else { 0.0 },
                    requests_per_second: 1e6 / cpu,
                    total_responses: 1,
                    errors: 0,
                    server_core_share: 1.0,
                    foreign_load_on_server_core: 0.0,
                    bench_cpu_share: 0.5,
                },
                fixed_rate: FixedRate {
                    rate: 2000.0,
                    scheduled: 1,
                    responses: 1,
                    errors: 0,
                    not_sent: 0,
                    p50_us: p50,
                    p90_us: 0.0,
                    p99_us: p50 * 5.0,
                    p999_us: 0.0,
                    max_us: 0.0,
                    send_lag_p99_us: 0.0,
                    started_behind_schedule: 0,
                    server_cpu_us_per_request: cpu + 1.0,
                },
            }],
            requests_sent: SENT,
            errors: 0,
            expected: Expected {
                spans: SENT,
                log_records: SENT,
            },
            received: Received {
                spans: if mode.telemetry() { spans } else { 0 },
                log_records: if mode.telemetry() { SENT } else { 0 },
                ..Default::default()
            },
            exit_status: "exit status: 0".into(),
            killed: false,
            shutdown_seconds: 0.1,
        }
    }

    /// Three rounds in the gate's order, with a drift per round that pairing within
    /// rounds must cancel: off 20, sdk 30, lean 24 µs/request; sdk drops 10 spans.
    pub fn three_modes() -> Vec<Run> {
        let mut runs = Vec::new();
        for (round, drift) in [(0, 0.0), (1, 10.0), (2, -5.0)] {
            for m in crate::overhead::mode::order(&Mode::ALL, round) {
                let (cpu, p50, spans) = match m {
                    Mode::Off => (20.0, 1000.0, 0),
                    Mode::Sdk => (30.0, 1050.0, SENT - 10),
                    Mode::Lean => (24.0, 1010.0, SENT),
                };
                runs.push(run(round, m, cpu + drift, p50 + drift, spans));
            }
        }
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{self, SENT};
    use super::*;

    #[test]
    fn modes_are_paired_within_rounds_and_records_kept_per_mode() {
        let s = summarize(&fixtures::three_modes(), &[Endpoint::Health]);
        assert_eq!(s.modes, Mode::ALL);
        let e = &s.endpoints[0];
        assert_eq!(e.rounds, 3);
        let cpu = &e.cpu_us_per_request;
        let delta = |p: Option<crate::overhead::figure::Paired>| p.map(|p| p.delta);
        assert_eq!(
            delta(cpu.lean_vs_off).map(|d| (d.min, d.max)),
            Some((4.0, 4.0))
        );
        assert_eq!(delta(cpu.sdk_vs_off).map(|d| d.median), Some(10.0));
        assert_eq!(delta(cpu.lean_vs_sdk).map(|d| d.median), Some(-6.0));
        assert_eq!(
            delta(e.fixed_rate_cpu_us_per_request.lean_vs_off).map(|d| d.median),
            Some(4.0)
        );
        assert_eq!(cpu.lean_over_sdk_added, Some(0.4));
        // Records: one row per telemetry run, in run order, each attributed to its mode.
        assert_eq!(s.records.len(), 6);
        assert_eq!(
            s.records
                .iter()
                .map(|r| (r.round, r.mode))
                .collect::<Vec<_>>(),
            [
                (0, Mode::Sdk),
                (0, Mode::Lean),
                (1, Mode::Sdk),
                (1, Mode::Lean),
                (2, Mode::Lean),
                (2, Mode::Sdk)
            ]
        );
        for r in &s.records {
            let expected = if r.mode == Mode::Sdk { 10 } else { 0 };
            assert_eq!((r.dropped_spans, r.dropped_log_records), (expected, 0));
            assert_eq!(r.requests_sent, SENT);
        }
        assert_eq!(s.records_while_off, 0);
    }

    #[test]
    fn records_short_of_what_the_requests_should_yield_count_as_dropped() {
        // Two log records per request expected (POST /projects), more received than
        // requests sent but fewer than expected: the old "sent - received" missed it.
        let mut runs = fixtures::three_modes();
        for r in runs.iter_mut().filter(|r| r.mode == Mode::Lean) {
            r.expected.log_records = 2 * SENT;
            r.received.log_records = SENT + 60;
        }
        let s = summarize(&runs, &[Endpoint::Health]);
        let lean: Vec<&RecordRow> = s.records.iter().filter(|r| r.mode == Mode::Lean).collect();
        assert_eq!(lean.len(), 3);
        for r in lean {
            assert_eq!((r.dropped_spans, r.dropped_log_records), (0, SENT - 60));
            assert!(r.dropped());
        }
    }

    #[test]
    fn only_lean_budgets_decide() {
        // lean: +4 us CPU, +1 % median: meets; sdk: +10 us, +5 %: above.
        let s = summarize(&fixtures::three_modes(), &[Endpoint::Health]);
        let b = &s.endpoints[0].budgets;
        assert_eq!(b.len(), 6);
        assert!(b
            .iter()
            .filter(|v| v.mode == Mode::Lean)
            .all(|v| v.binding && v.pass));
        assert!(b
            .iter()
            .filter(|v| v.mode == Mode::Sdk)
            .all(|v| !v.binding && !v.pass));
        assert!(s.budgets_met());
        // Lean above the CPU budget: the gate fails.
        let mut runs = fixtures::three_modes();
        for r in runs.iter_mut().filter(|r| r.mode == Mode::Lean) {
            r.endpoints[0].saturation.cpu_us_per_request += 2.0;
        }
        assert!(!summarize(&runs, &[Endpoint::Health]).budgets_met());
    }

    #[test]
    fn records_from_an_off_run_are_counted() {
        let mut runs = fixtures::three_modes();
        runs.retain(|r| r.mode != Mode::Sdk);
        runs[0].received.spans = 3;
        assert_eq!(runs[0].mode, Mode::Off);
        let s = summarize(&runs, &[Endpoint::Health]);
        assert_eq!(s.modes, [Mode::Off, Mode::Lean]);
        assert_eq!(s.records_while_off, 3);
        assert_eq!(s.records.len(), 3);
        assert!(s.endpoints[0].cpu_us_per_request.sdk_vs_off.is_none());
        assert!(s.endpoints[0].budgets.iter().all(|v| v.mode == Mode::Lean));
    }
}
