//! Spread over rounds (min, median, max), and a figure's spreads with telemetry off, on
//! and of the per-round difference.

use serde::Serialize;

/// One figure of the gate (e.g. server CPU per request) over the rounds.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub off: Option<Spread>,
    pub on: Option<Spread>,
    /// Per-round on - off.
    pub delta: Option<Spread>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

/// None for an empty sample; NaNs are ignored (a failed measurement, not a value).
pub fn spread(values: &[f64]) -> Option<Spread> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Spread {
        min: v[0],
        median,
        max: v[n - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_and_even() {
        assert_eq!(
            spread(&[3.0, 1.0, 2.0]),
            Some(Spread {
                min: 1.0,
                median: 2.0,
                max: 3.0
            })
        );
        assert_eq!(spread(&[4.0, 1.0, 2.0, 3.0]).map(|s| s.median), Some(2.5));
    }

    #[test]
    fn empty_and_nan() {
        assert_eq!(spread(&[]), None);
        assert_eq!(spread(&[f64::NAN, 5.0]).map(|s| s.median), Some(5.0));
    }
}
