//! One figure of the gate (e.g. server CPU per request) over the rounds: each mode's
//! spread, and each pair of modes compared within a round. Differences and ratios are
//! taken between runs of the same round, so slow drift of the machine cancels out; their
//! spread over rounds shows how far a single round can be trusted.

use serde::Serialize;

use crate::overhead::mode::Mode;
use testkit::stats::{spread, Spread};

/// Two modes compared within each round: `a - b` and `a / b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair {
    pub a: Mode,
    pub b: Mode,
}

/// The comparisons the report shows, in its order: each exporter against off, then the
/// two exporters against each other.
pub const PAIRS: [Pair; 3] = [
    Pair {
        a: Mode::Lean,
        b: Mode::Off,
    },
    Pair {
        a: Mode::Sdk,
        b: Mode::Off,
    },
    Pair {
        a: Mode::Lean,
        b: Mode::Sdk,
    },
];

/// One mode's value of the figure in one round.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub round: usize,
    pub mode: Mode,
    pub value: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Paired {
    /// Per-round a - b.
    pub delta: Spread,
    /// Per-round a / b; rounds where b is 0 are left out (None if that is every round).
    pub ratio: Option<Spread>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Figure {
    /// Each mode over the rounds (None: the mode did not run).
    pub off: Option<Spread>,
    pub sdk: Option<Spread>,
    pub lean: Option<Spread>,
    pub lean_vs_off: Option<Paired>,
    pub sdk_vs_off: Option<Paired>,
    pub lean_vs_sdk: Option<Paired>,
    /// What lean adds to off over what sdk adds, from the median deltas (see
    /// [`added_ratio`]).
    pub lean_over_sdk_added: Option<f64>,
}

impl Figure {
    pub fn from_samples(samples: &[Sample]) -> Figure {
        let of = |mode: Mode| -> Option<Spread> {
            let v: Vec<f64> = samples
                .iter()
                .filter(|s| s.mode == mode)
                .map(|s| s.value)
                .collect();
            spread(&v)
        };
        let [lean_off, sdk_off, lean_sdk] = PAIRS.map(|p| paired(samples, p));
        let lean_over_sdk_added = match (lean_off, sdk_off) {
            (Some(l), Some(s)) => added_ratio(l.delta.median, s.delta.median),
            _ => None,
        };
        Figure {
            off: of(Mode::Off),
            sdk: of(Mode::Sdk),
            lean: of(Mode::Lean),
            lean_vs_off: lean_off,
            sdk_vs_off: sdk_off,
            lean_vs_sdk: lean_sdk,
            lean_over_sdk_added,
        }
    }

    pub fn mode(&self, mode: Mode) -> Option<Spread> {
        match mode {
            Mode::Off => self.off,
            Mode::Sdk => self.sdk,
            Mode::Lean => self.lean,
        }
    }

    /// The comparison of `pair`, if it is one of [`PAIRS`] and both modes ran.
    pub fn pair(&self, pair: Pair) -> Option<Paired> {
        match (pair.a, pair.b) {
            (Mode::Lean, Mode::Off) => self.lean_vs_off,
            (Mode::Sdk, Mode::Off) => self.sdk_vs_off,
            (Mode::Lean, Mode::Sdk) => self.lean_vs_sdk,
            _ => None,
        }
    }
}

/// a - b and a / b within every round that ran both modes, as spreads over those rounds.
fn paired(samples: &[Sample], pair: Pair) -> Option<Paired> {
    let mut rounds: Vec<usize> = samples.iter().map(|s| s.round).collect();
    rounds.sort_unstable();
    rounds.dedup();
    let pick = |round: usize, mode: Mode| {
        samples
            .iter()
            .find(|s| s.round == round && s.mode == mode)
            .map(|s| s.value)
    };
    let both: Vec<(f64, f64)> = rounds
        .iter()
        .filter_map(|&r| Some((pick(r, pair.a)?, pick(r, pair.b)?)))
        .collect();
    let deltas: Vec<f64> = both.iter().map(|(a, b)| a - b).collect();
    let ratios: Vec<f64> = both
        .iter()
        .map(|(a, b)| a / b)
        .filter(|r| r.is_finite())
        .collect();
    Some(Paired {
        delta: spread(&deltas)?,
        ratio: spread(&ratios),
    })
}

/// Lean's change against off over sdk's change against off (0.5: lean adds half of
/// what sdk adds). Taken from the median deltas rather than round by round: sdk's delta
/// of a single round can be near 0 for a noisy figure, and one such round would throw
/// the per-round quotient anywhere. None when sdk changed nothing or the two moved in
/// opposite directions, where the quotient says nothing about a share.
pub fn added_ratio(lean_delta: f64, sdk_delta: f64) -> Option<f64> {
    if sdk_delta == 0.0 || lean_delta * sdk_delta < 0.0 {
        return None;
    }
    Some(lean_delta / sdk_delta).filter(|r| r.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(round: usize, mode: Mode, value: f64) -> Sample {
        Sample { round, mode, value }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Three rounds in rotated order; each round's values are shifted by a drift that
    /// the pairing must cancel: off 20, sdk 30, lean 24 plus 0, +10, -5.
    fn rotated_rounds() -> Vec<Sample> {
        let mut v = Vec::new();
        for (round, drift, order) in [
            (0, 0.0, [Mode::Off, Mode::Sdk, Mode::Lean]),
            (1, 10.0, [Mode::Sdk, Mode::Lean, Mode::Off]),
            (2, -5.0, [Mode::Lean, Mode::Off, Mode::Sdk]),
        ] {
            for m in order {
                let base = match m {
                    Mode::Off => 20.0,
                    Mode::Sdk => 30.0,
                    Mode::Lean => 24.0,
                };
                v.push(s(round, m, base + drift));
            }
        }
        v
    }

    #[test]
    fn deltas_pair_runs_of_the_same_round_for_each_pair() {
        let f = Figure::from_samples(&rotated_rounds());
        // Per mode: the drift shows in min and max, not in the deltas.
        assert_eq!(
            f.off.map(|x| (x.min, x.median, x.max)),
            Some((15.0, 20.0, 30.0))
        );
        assert_eq!(f.sdk.map(|x| x.median), Some(30.0));
        assert_eq!(f.lean.map(|x| x.median), Some(24.0));
        let d = |p: Option<Paired>| p.map(|p| (p.delta.min, p.delta.median, p.delta.max));
        assert_eq!(d(f.lean_vs_off), Some((4.0, 4.0, 4.0)));
        assert_eq!(d(f.sdk_vs_off), Some((10.0, 10.0, 10.0)));
        assert_eq!(d(f.lean_vs_sdk), Some((-6.0, -6.0, -6.0)));
        assert_eq!(f.pair(PAIRS[1]), f.sdk_vs_off);
    }

    #[test]
    fn ratios_are_per_round_and_the_added_ratio_uses_median_deltas() {
        let f = Figure::from_samples(&rotated_rounds());
        // lean / off per round: 24/20, 34/30, 19/15; median 34/30.
        let r = f.lean_vs_off.unwrap().ratio.unwrap();
        assert!(close(r.min, 34.0 / 30.0), "{r:?}");
        assert!(close(r.median, 24.0 / 20.0), "{r:?}");
        assert!(close(r.max, 19.0 / 15.0), "{r:?}");
        // lean adds 4, sdk adds 10.
        assert!(close(f.lean_over_sdk_added.unwrap(), 0.4));
    }

    #[test]
    fn rounds_missing_a_mode_are_left_out_of_that_pair_only() {
        let mut v = rotated_rounds();
        v.retain(|x| !(x.round == 2 && x.mode == Mode::Sdk));
        v[0].value = 18.0; // round 0 off: lean - off becomes 6
        let f = Figure::from_samples(&v);
        let lean_off = f.lean_vs_off.unwrap().delta;
        assert_eq!((lean_off.min, lean_off.max), (4.0, 6.0));
        assert_eq!(f.sdk_vs_off.unwrap().delta.max, 12.0);
        assert_eq!(f.sdk.map(|x| x.max), Some(40.0));
        let two_mode = Figure::from_samples(&[s(0, Mode::Off, 1.0), s(0, Mode::Lean, 2.0)]);
        assert_eq!(two_mode.sdk, None);
        assert_eq!(two_mode.sdk_vs_off, None);
        assert_eq!(two_mode.lean_vs_sdk, None);
        assert_eq!(two_mode.lean_over_sdk_added, None);
        assert_eq!(two_mode.lean_vs_off.map(|p| p.delta.median), Some(1.0));
    }

    #[test]
    fn a_zero_baseline_has_no_ratio_but_a_delta() {
        let f = Figure::from_samples(&[s(0, Mode::Off, 0.0), s(0, Mode::Lean, 3.0)]);
        let p = f.lean_vs_off.unwrap();
        assert_eq!(p.delta.median, 3.0);
        assert_eq!(p.ratio, None);
    }

    #[test]
    fn added_ratio_needs_a_common_direction() {
        assert!(close(added_ratio(2.5, 10.0).unwrap(), 0.25));
        // Throughput: both lose, lean loses less.
        assert!(close(added_ratio(-300.0, -1200.0).unwrap(), 0.25));
        assert_eq!(added_ratio(0.0, 4.0), Some(0.0));
        assert_eq!(added_ratio(1.0, 0.0), None);
        assert_eq!(added_ratio(1.0, -2.0), None);
        assert_eq!(added_ratio(f64::NAN, 2.0), None);
    }
}
