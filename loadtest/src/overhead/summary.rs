//! Pairs the on and off runs of each round into the figures the gate judges and the JSON
//! shows. Deltas are taken within a round (on minus off of the same round) so slow drift
//! of the machine cancels out; the spread shows how much a single round can be trusted.

use serde::Serialize;

use crate::overhead::budget::{self, BudgetVerdict};
use crate::overhead::endpoint::Endpoint;
use crate::overhead::mode_run::{EndpointRun, Run};
use crate::overhead::stats::{spread, Comparison, Spread};

#[derive(Clone, Debug, Serialize)]
pub struct EndpointSummary {
    pub endpoint: Endpoint,
    pub rounds: usize,
    pub cpu_us_per_request: Comparison,
    pub requests_per_second: Comparison,
    pub server_core_share: Comparison,
    pub foreign_load_on_server_core: Comparison,
    pub bench_cpu_share: Comparison,
    pub p50_us: Comparison,
    pub p99_us: Comparison,
    /// Per-round (on - off) / off of the median at the fixed rate, in percent.
    pub p50_change_pct: Option<Spread>,
    pub fixed_rate_cpu_us_per_request: Comparison,
    /// AC-005 and our own budgets, judged on the medians over rounds.
    pub budgets: Vec<BudgetVerdict>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RecordRow {
    pub round: usize,
    pub requests_sent: u64,
    pub spans: u64,
    pub log_records: u64,
    pub metric_data_points: u64,
    pub dropped_spans: u64,
    pub dropped_log_records: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub endpoints: Vec<EndpointSummary>,
    /// Telemetry-on runs: requests sent versus records received.
    pub records: Vec<RecordRow>,
    /// Records received during telemetry-off runs; anything but 0 means
    /// OTEL_SDK_DISABLED was not honoured.
    pub records_while_off: u64,
    pub errors: u64,
}

fn endpoint_of(run: &Run, ep: Endpoint) -> Option<&EndpointRun> {
    run.endpoints.iter().find(|e| e.endpoint == ep)
}

fn comparison(runs: &[Run], ep: Endpoint, value: impl Fn(&EndpointRun) -> f64) -> Comparison {
    let side = |on: bool| -> Vec<f64> {
        runs.iter()
            .filter(|r| r.telemetry == on)
            .filter_map(|r| endpoint_of(r, ep).map(&value))
            .collect()
    };
    Comparison {
        off: spread(&side(false)),
        on: spread(&side(true)),
        delta: paired(runs, ep, &value, |on, off| on - off),
    }
}

/// `combine(on, off)` of the same round, for every round that has both, as a spread.
fn paired(
    runs: &[Run],
    ep: Endpoint,
    value: impl Fn(&EndpointRun) -> f64,
    combine: impl Fn(f64, f64) -> f64,
) -> Option<Spread> {
    let mut rounds: Vec<usize> = runs.iter().map(|r| r.round).collect();
    rounds.sort_unstable();
    rounds.dedup();
    let values: Vec<f64> = rounds
        .iter()
        .filter_map(|&round| {
            let pick = |on: bool| {
                runs.iter()
                    .find(|r| r.round == round && r.telemetry == on)
                    .and_then(|r| endpoint_of(r, ep))
                    .map(&value)
            };
            Some(combine(pick(true)?, pick(false)?))
        })
        .collect();
    spread(&values)
}

fn endpoint_summary(runs: &[Run], ep: Endpoint, rounds: usize) -> EndpointSummary {
    EndpointSummary {
        endpoint: ep,
        rounds,
        cpu_us_per_request: comparison(runs, ep, |e| e.saturation.cpu_us_per_request),
        requests_per_second: comparison(runs, ep, |e| e.saturation.requests_per_second),
        server_core_share: comparison(runs, ep, |e| 100.0 * e.saturation.server_core_share),
        foreign_load_on_server_core: comparison(runs, ep, |e| {
            100.0 * e.saturation.foreign_load_on_server_core
        }),
        bench_cpu_share: comparison(runs, ep, |e| 100.0 * e.saturation.bench_cpu_share),
        p50_us: comparison(runs, ep, |e| e.fixed_rate.p50_us),
        p99_us: comparison(runs, ep, |e| e.fixed_rate.p99_us),
        p50_change_pct: paired(
            runs,
            ep,
            |e| e.fixed_rate.p50_us,
            |on, off| 100.0 * (on - off) / off,
        ),
        fixed_rate_cpu_us_per_request: comparison(runs, ep, |e| {
            e.fixed_rate.server_cpu_us_per_request
        }),
        budgets: Vec::new(),
    }
}

pub fn summarize(runs: &[Run], endpoints: &[Endpoint]) -> Summary {
    let rounds = runs.iter().map(|r| r.round + 1).max().unwrap_or(0);
    let endpoints = endpoints
        .iter()
        .map(|&ep| {
            let mut e = endpoint_summary(runs, ep, rounds);
            e.budgets = budget::judge(ep, &e.cpu_us_per_request, &e.p50_us, e.p50_change_pct);
            e
        })
        .collect();
    let records = runs
        .iter()
        .filter(|r| r.telemetry)
        .map(|r| RecordRow {
            round: r.round,
            requests_sent: r.requests_sent,
            spans: r.received.spans,
            log_records: r.received.log_records,
            metric_data_points: r.received.metric_data_points,
            dropped_spans: r.requests_sent.saturating_sub(r.received.spans),
            dropped_log_records: r.requests_sent.saturating_sub(r.received.log_records),
        })
        .collect();
    let records_while_off = runs
        .iter()
        .filter(|r| !r.telemetry)
        .map(|r| r.received.spans + r.received.log_records + r.received.metric_data_points)
        .sum();
    Summary {
        endpoints,
        records,
        records_while_off,
        errors: runs.iter().map(|r| r.errors).sum(),
    }
}
