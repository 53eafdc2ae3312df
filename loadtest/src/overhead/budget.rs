//! The overhead budgets and their verdicts. Each is judged on the median over rounds of
//! a per-round comparison of one telemetry mode with off; the spread is printed beside it
//! so a verdict whose rounds straddle the limit can be told from a settled one.
//!
//! - spec (NFR-001, AC-005): the median latency at a fixed arrival rate grows by at most
//!   3 % or 5 ms, whichever is smaller;
//! - ours: at most 5 µs of server CPU per request, and at most 2 % on the median.
//!
//! Lean, the default exporter, is what the gate judges; sdk is held to the same budgets
//! for comparison only.

use std::fmt;

use serde::Serialize;

use crate::overhead::endpoint::Endpoint;
use crate::overhead::figure::{Figure, Pair};
use crate::overhead::mode::Mode;
use testkit::stats::Spread;

/// Our budget: server CPU per request added by telemetry (saturation figure).
pub const CPU_US_PER_REQUEST: f64 = 5.0;
/// Our budget on the fixed-rate median, in percent.
pub const OUR_MEDIAN_PCT: f64 = 2.0;
/// The spec's budget on the median: percent, and an absolute cap in µs.
pub const SPEC_MEDIAN_PCT: f64 = 3.0;
pub const SPEC_MEDIAN_CAP_US: f64 = 5_000.0;

/// The mode whose verdicts set the exit code: the default export path.
pub const JUDGED: Mode = Mode::Lean;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetVerdict {
    pub endpoint: String,
    /// The telemetry mode compared with off.
    pub mode: Mode,
    /// Whether the verdict counts for the exit code (lean) or is information (sdk).
    pub binding: bool,
    /// "spec" or "ours".
    pub owner: &'static str,
    pub budget: String,
    /// Median over rounds of the per-round change, in the budget's unit.
    pub observed: f64,
    pub spread: Spread,
    pub unit: &'static str,
    pub pass: bool,
}

impl fmt::Display for BudgetVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<4} {:<38} {:>+9.2} {:<2}  {:>+9.2} {:>+9.2}  {}",
            self.owner,
            self.budget,
            self.observed,
            self.unit,
            self.spread.min,
            self.spread.max,
            if self.pass { "meets" } else { "ABOVE" }
        )
    }
}

/// Every budget that can be judged for `mode` against off on one endpoint (a figure with
/// no paired rounds is left out rather than passed): server CPU per request at
/// saturation, and the median at the fixed rate, as the change in percent and in µs.
pub fn judge(
    endpoint: Endpoint,
    mode: Mode,
    cpu_us_per_request: &Figure,
    p50_us: &Figure,
) -> Vec<BudgetVerdict> {
    let endpoint = endpoint.to_string();
    let vs_off = Pair {
        a: mode,
        b: Mode::Off,
    };
    let verdict = |owner, budget: String, spread: Spread, unit, limit: f64| BudgetVerdict {
        endpoint: endpoint.clone(),
        mode,
        binding: mode == JUDGED,
        owner,
        budget,
        observed: spread.median,
        spread,
        unit,
        pass: spread.median <= limit,
    };
    let mut out = Vec::new();
    if let Some(p) = cpu_us_per_request.pair(vs_off) {
        out.push(verdict(
            "ours",
            format!("CPU <= {CPU_US_PER_REQUEST} us/request"),
            p.delta,
            "us",
            CPU_US_PER_REQUEST,
        ));
    }
    let p50 = p50_us.pair(vs_off);
    if let Some(ratio) = p50.and_then(|p| p.ratio) {
        out.push(verdict(
            "ours",
            format!("median <= +{OUR_MEDIAN_PCT} %"),
            ratio.map(|r| 100.0 * (r - 1.0)),
            "%",
            OUR_MEDIAN_PCT,
        ));
    }
    if let (Some(p), Some(off)) = (p50, p50_us.off) {
        let limit = spec_median_limit_us(off.median);
        out.push(verdict(
            "spec",
            format!("median <= min(+{SPEC_MEDIAN_PCT} %, 5 ms) = {limit:.1} us"),
            p.delta,
            "us",
            limit,
        ));
    }
    out
}

/// AC-005: 3 % of the baseline median or 5 ms, whichever is smaller.
pub fn spec_median_limit_us(off_median_us: f64) -> f64 {
    (off_median_us * SPEC_MEDIAN_PCT / 100.0).min(SPEC_MEDIAN_CAP_US)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overhead::figure::Sample;

    #[test]
    fn spec_limit_is_the_smaller_of_3_percent_and_5_ms() {
        assert_eq!(spec_median_limit_us(1_000.0), 30.0);
        assert_eq!(spec_median_limit_us(1_000_000.0), 5_000.0);
    }

    fn figure(values: &[(Mode, f64)]) -> Figure {
        let samples: Vec<Sample> = values
            .iter()
            .map(|&(mode, value)| Sample {
                round: 0,
                mode,
                value,
            })
            .collect();
        Figure::from_samples(&samples)
    }

    #[test]
    fn lean_binds_and_sdk_informs_against_the_same_limits() {
        let cpu = figure(&[(Mode::Off, 20.0), (Mode::Sdk, 29.0), (Mode::Lean, 24.0)]);
        let p50 = figure(&[
            (Mode::Off, 1000.0),
            (Mode::Sdk, 1040.0),
            (Mode::Lean, 1010.0),
        ]);
        let lean = judge(Endpoint::Health, Mode::Lean, &cpu, &p50);
        let sdk = judge(Endpoint::Health, Mode::Sdk, &cpu, &p50);
        assert_eq!(lean.len(), 3);
        assert!(lean.iter().all(|v| v.binding && v.pass), "{lean:?}");
        assert!((lean[1].observed - 1.0).abs() < 1e-9, "{:?}", lean[1]);
        assert_eq!(lean[2].observed, 10.0);
        assert!(sdk.iter().all(|v| !v.binding && !v.pass), "{sdk:?}");
        assert_eq!(sdk[0].observed, 9.0);
        assert!((sdk[1].observed - 4.0).abs() < 1e-9, "{:?}", sdk[1]);
    }
}
