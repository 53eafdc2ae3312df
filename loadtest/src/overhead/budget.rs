//! The overhead budgets and their verdicts. Each is judged on the median over rounds of
//! a per-round on - off delta; the spread is printed beside it so a verdict whose rounds
//! straddle the limit can be told from a settled one.
//!
//! - spec (NFR-001, AC-005): the median latency at a fixed arrival rate grows by at most
//!   3 % or 5 ms, whichever is smaller;
//! - ours: at most 5 µs of server CPU per request, and at most 2 % on the median.

use std::fmt;

use serde::Serialize;

use crate::overhead::endpoint::Endpoint;
use crate::overhead::stats::{Comparison, Spread};

/// Our budget: server CPU per request added by telemetry (saturation figure).
pub const CPU_US_PER_REQUEST: f64 = 5.0;
/// Our budget on the fixed-rate median, in percent.
pub const OUR_MEDIAN_PCT: f64 = 2.0;
/// The spec's budget on the median: percent, and an absolute cap in µs.
pub const SPEC_MEDIAN_PCT: f64 = 3.0;
pub const SPEC_MEDIAN_CAP_US: f64 = 5_000.0;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetVerdict {
    pub endpoint: String,
    /// "spec" or "ours".
    pub owner: &'static str,
    pub budget: String,
    /// Median over rounds of the per-round delta, in the budget's unit.
    pub observed: f64,
    pub spread: Spread,
    pub unit: &'static str,
    pub pass: bool,
}

impl fmt::Display for BudgetVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "budget ({}) {:<46} median delta {:+.2} {} (rounds {:+.2} .. {:+.2}) -> {}",
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

/// Every budget that can be judged for one endpoint (a figure with no paired rounds is
/// left out rather than passed): server CPU per request at saturation, and the median
/// at the fixed rate, as the change in percent and in µs.
pub fn judge(
    endpoint: Endpoint,
    cpu_us_per_request: &Comparison,
    p50_us: &Comparison,
    p50_change_pct: Option<Spread>,
) -> Vec<BudgetVerdict> {
    let endpoint = endpoint.to_string();
    let verdict = |owner, budget: String, spread: Spread, unit, limit: f64| BudgetVerdict {
        endpoint: endpoint.clone(),
        owner,
        budget,
        observed: spread.median,
        spread,
        unit,
        pass: spread.median <= limit,
    };
    let mut out = Vec::new();
    if let Some(d) = cpu_us_per_request.delta {
        out.push(verdict(
            "ours",
            format!("CPU <= {CPU_US_PER_REQUEST} us/request"),
            d,
            "us",
            CPU_US_PER_REQUEST,
        ));
    }
    if let Some(pct) = p50_change_pct {
        out.push(verdict(
            "ours",
            format!("median <= +{OUR_MEDIAN_PCT} %"),
            pct,
            "%",
            OUR_MEDIAN_PCT,
        ));
    }
    if let (Some(d), Some(off)) = (p50_us.delta, p50_us.off) {
        let limit = spec_median_limit_us(off.median);
        out.push(verdict(
            "spec",
            format!("median <= min(+{SPEC_MEDIAN_PCT} %, 5 ms) = {limit:.1} us"),
            d,
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

    #[test]
    fn spec_limit_is_the_smaller_of_3_percent_and_5_ms() {
        assert_eq!(spec_median_limit_us(1_000.0), 30.0);
        assert_eq!(spec_median_limit_us(1_000_000.0), 5_000.0);
    }
}
