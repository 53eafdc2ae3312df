//! `--since 30m`: how far back a snapshot looks. Units s, m, h, d, w, combinable
//! (`1h30m`); a bare number is refused rather than guessed at.

use std::time::Duration;

pub fn parse_since(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration: use e.g. 30m, 2h, 1d".to_owned());
    }
    let mut total = 0u64;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => {
                return Err(format!(
                    "{text:?}: unknown unit {c:?} (use s, m, h, d or w)"
                ))
            }
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("{text:?}: a number must come before {c:?}"))?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("{text:?} is too long"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!("{text:?}: {digits} needs a unit (e.g. {digits}m)"));
    }
    if total == 0 {
        return Err(format!("{text:?}: the range must be longer than zero"));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_combinations_parse() {
        assert_eq!(parse_since("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_since("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_since("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_since("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_since("1w"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_since(" 1h30m "), Ok(Duration::from_secs(5400)));
    }

    #[test]
    fn bad_durations_say_why() {
        for (bad, why) in [
            ("30", "needs a unit"),
            ("m", "a number must come before"),
            ("5y", "unknown unit"),
            ("0m", "longer than zero"),
            ("", "empty"),
            ("99999999999999999999w", "must come before"),
            ("9999999999999999w", "too long"),
        ] {
            let err = parse_since(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
