//! Spread over rounds (min, median, max).

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `f(x)` for a non-decreasing `f`: min, median and max keep their
    /// places (the median of an even sample too, when `f` is affine, as a percentage is).
    pub fn map(self, f: impl Fn(f64) -> f64) -> Spread {
        Spread {
            min: f(self.min),
            median: f(self.median),
            max: f(self.max),
        }
    }
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

    #[test]
    fn an_affine_map_commutes_with_the_median() {
        let ratios = [1.02, 1.10, 0.99, 1.04];
        let pct: Vec<f64> = ratios.iter().map(|r| 100.0 * (r - 1.0)).collect();
        let mapped = spread(&ratios).unwrap().map(|r| 100.0 * (r - 1.0));
        let direct = spread(&pct).unwrap();
        for (a, b) in [
            (mapped.min, direct.min),
            (mapped.median, direct.median),
            (mapped.max, direct.max),
        ] {
            assert!((a - b).abs() < 1e-9, "{mapped:?} vs {direct:?}");
        }
    }
}
