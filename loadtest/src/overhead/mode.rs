//! The telemetry modes the gate compares, the environment that selects each, and the
//! order they run in within a round.
//!
//! - `off`: OTEL_SDK_DISABLED=true, the baseline;
//! - `sdk`: the stock opentelemetry-otlp exporters behind the SDK's batch processors and
//!   tracing-opentelemetry (ALERTINGSCOUT_OTLP_EXPORTER=sdk), the reference;
//! - `lean`: the service's own exporter (ALERTINGSCOUT_OTLP_EXPORTER=lean), the default
//!   path and the one the budgets judge.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The service variable that picks the exporter when telemetry is on.
pub const EXPORTER_ENV: &str = "ALERTINGSCOUT_OTLP_EXPORTER";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Off,
    Sdk,
    Lean,
}

impl Mode {
    /// Every mode, in the order the report shows them.
    pub const ALL: [Mode; 3] = [Mode::Off, Mode::Sdk, Mode::Lean];

    pub fn telemetry(self) -> bool {
        self != Mode::Off
    }

    /// The value of [`EXPORTER_ENV`]; none when telemetry is off.
    pub fn exporter(self) -> Option<&'static str> {
        match self {
            Mode::Off => None,
            Mode::Sdk => Some("sdk"),
            Mode::Lean => Some("lean"),
        }
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(Mode::Off),
            "sdk" => Ok(Mode::Sdk),
            "lean" => Ok(Mode::Lean),
            other => Err(format!(
                "unknown mode {other:?} (expected off, sdk or lean)"
            )),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Mode::Off => "off",
            Mode::Sdk => "sdk",
            Mode::Lean => "lean",
        })
    }
}

/// The order of the runs in `round` (0-based). Rotating the list puts every mode in every
/// position once per `n` rounds, so warm-up or drift within a round hits all modes
/// equally. With three modes rotation alone would also make each mode always follow the
/// same one (off always after lean), so whatever a run leaves behind (its database's
/// dirty pages written back, a cooler or warmer core) would always land on the same mode:
/// every other block of `n` rounds is therefore mirrored, and over `2n` rounds each mode
/// follows each other mode equally often. With two modes rotation is already balanced
/// (on/off, off/on).
pub fn order(modes: &[Mode], round: usize) -> Vec<Mode> {
    let n = modes.len();
    let mut out = modes.to_vec();
    if n == 0 {
        return out;
    }
    out.rotate_left(round % n);
    if n % 2 == 1 && (round / n) % 2 == 1 {
        out.reverse();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn three_modes_rotate_as_the_issue_shows() {
        let all = Mode::ALL;
        assert_eq!(order(&all, 0), [Mode::Off, Mode::Sdk, Mode::Lean]);
        assert_eq!(order(&all, 1), [Mode::Sdk, Mode::Lean, Mode::Off]);
        assert_eq!(order(&all, 2), [Mode::Lean, Mode::Off, Mode::Sdk]);
    }

    /// Over every `n` rounds each mode takes each position once; over `2n` rounds each
    /// ordered pair of neighbours occurs equally often.
    fn check_balance(modes: &[Mode]) {
        let n = modes.len();
        for block in 0..4 {
            let mut at: HashMap<(Mode, usize), usize> = HashMap::new();
            for round in block * n..(block + 1) * n {
                let o = order(modes, round);
                let mut sorted = o.clone();
                sorted.sort();
                let mut expected = modes.to_vec();
                expected.sort();
                assert_eq!(sorted, expected, "round {round} runs each mode once");
                for (pos, &m) in o.iter().enumerate() {
                    *at.entry((m, pos)).or_default() += 1;
                }
            }
            assert_eq!(at.len(), n * n, "block {block}: {at:?}");
            assert!(at.values().all(|&c| c == 1), "block {block}: {at:?}");
        }
        let mut follows: HashMap<(Mode, Mode), usize> = HashMap::new();
        for round in 0..2 * n {
            for w in order(modes, round).windows(2) {
                *follows.entry((w[0], w[1])).or_default() += 1;
            }
        }
        assert_eq!(follows.len(), n * (n - 1), "{follows:?}");
        let first = follows.values().next().copied();
        assert!(follows.values().all(|&c| Some(c) == first), "{follows:?}");
    }

    #[test]
    fn every_mode_takes_every_position_and_follows_every_other_equally() {
        check_balance(&Mode::ALL);
        check_balance(&[Mode::Off, Mode::Lean]);
        check_balance(&[Mode::Off, Mode::Sdk]);
    }

    #[test]
    fn two_modes_alternate_as_before() {
        let two = [Mode::Lean, Mode::Off];
        assert_eq!(order(&two, 0), [Mode::Lean, Mode::Off]);
        assert_eq!(order(&two, 1), [Mode::Off, Mode::Lean]);
        assert_eq!(order(&two, 2), [Mode::Lean, Mode::Off]);
    }

    #[test]
    fn names_round_trip() {
        for m in Mode::ALL {
            assert_eq!(m.to_string().parse::<Mode>(), Ok(m));
            assert_eq!(m.telemetry(), m.exporter().is_some());
        }
        assert!("on".parse::<Mode>().is_err());
    }
}
