//! Which indices and audit records are past the retention: pure functions of
//! the index names and today's UTC date.
//!
//! The day boundary: with a retention of `n` days, at UTC date `D`, the index of
//! day `D - n` is kept and the index of day `D - (n + 1)` (or older) is deleted.
//! The daily audit indices follow the same rule with the audit retention.

use chrono::{Days, NaiveDate};

/// The day of `name` when it is exactly `<prefix>-YYYY.MM.DD` (a real date);
/// anything else is `None` and never touched.
pub fn index_day(name: &str, prefix: &str) -> Option<NaiveDate> {
    let date = name.strip_prefix(prefix)?.strip_prefix('-')?;
    let b = date.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'.'
        && b[7] == b'.'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(date, "%Y.%m.%d").ok()
}

/// The oldest day that is kept: `today - days`.
pub fn oldest_kept(today: NaiveDate, days: u32) -> NaiveDate {
    today
        .checked_sub_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN)
}

/// Whether an index of `day` is past a retention of `days` at `today`.
pub fn expired(day: NaiveDate, today: NaiveDate, days: u32) -> bool {
    day < oldest_kept(today, days)
}

/// The names to delete among `names`: exactly `<prefix>-YYYY.MM.DD` for one of
/// `prefixes` and past the retention; sorted, without duplicates.
pub fn expired_indices<'a>(
    names: impl IntoIterator<Item = &'a str>,
    prefixes: &[&str],
    today: NaiveDate,
    days: u32,
) -> Vec<String> {
    let mut out: Vec<String> = names
        .into_iter()
        .filter(|name| {
            prefixes
                .iter()
                .any(|p| index_day(name, p).is_some_and(|day| expired(day, today, days)))
        })
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
    }

    #[test]
    fn day_fifteen_goes_and_day_fourteen_stays() {
        // (today, index day, expired with 14 days)
        let table = [
            ("2026-12-01", "2026-11-16", true),  // D-15
            ("2026-12-01", "2026-11-17", false), // D-14
            ("2026-12-01", "2026-12-01", false), // today
            ("2026-12-01", "2026-12-02", false), // tomorrow (clock skew)
            ("2026-12-01", "2025-01-01", true),
            // month boundary
            ("2026-03-01", "2026-02-14", true), // D-15 (not a leap year)
            ("2026-03-01", "2026-02-15", false), // D-14
            ("2028-03-01", "2028-02-15", true), // D-15 in a leap year
            ("2028-03-01", "2028-02-16", false),
            // year boundary
            ("2027-01-10", "2026-12-26", true),
            ("2027-01-10", "2026-12-27", false),
        ];
        for (today, day, want) in table {
            assert_eq!(expired(d(day), d(today), 14), want, "{today} {day}");
        }
        // Zero days keeps today only.
        assert!(expired(d("2026-11-30"), d("2026-12-01"), 0));
        assert!(!expired(d("2026-12-01"), d("2026-12-01"), 0));
        // 400 days for the audit trail: 401 goes, 400 and 399 stay.
        let today = d("2026-12-01");
        for (back, want) in [(401, true), (400, false), (399, false)] {
            let day = today - Days::new(back);
            assert_eq!(expired(day, today, 400), want, "{back}");
        }
    }

    #[test]
    fn only_exact_prefix_and_real_date_names_have_a_day() {
        let p = "logs-alertingscout";
        assert_eq!(
            index_day("logs-alertingscout-2026.11.16", p),
            Some(d("2026-11-16"))
        );
        for name in [
            "logs-alertingscout",
            "logs-alertingscout-",
            "logs-alertingscout-bench",
            "logs-alertingscout-2026.11.16-x",
            "logs-alertingscout-2026.11.16.1",
            "logs-alertingscout-2026.11.1",
            "logs-alertingscout-2026-11-16",
            "logs-alertingscout-2026.13.01",
            "logs-alertingscout-2026.02.30",
            "logs-alertingscout-+026.11.16",
            "logs-alertingscout-2026.1a.16",
            "logs-alertingscout-２026.11.16",
            "logs-alertingscoutx-2026.11.16",
            "xlogs-alertingscout-2026.11.16",
            "logs-alertingscout-*",
            ".kibana",
        ] {
            assert_eq!(index_day(name, p), None, "{name}");
        }
    }

    #[test]
    fn candidates_are_the_expired_daily_indices_of_the_prefixes_only() {
        let names = [
            "logs-alertingscout-2026.11.16",
            "logs-alertingscout-2026.11.17",
            "traces-alertingscout-2026.11.16",
            "traces-alertingscout-2026.12.01",
            "logs-alertingscout-bench",
            "logs-oncalltest-2026.10.01",
            "other-2026.10.01",
            "alertingscout-audit",
            ".kibana_1",
            "logs-alertingscout-2026.02.30",
            "logs-alertingscout-2026.11.16",
        ];
        let got = expired_indices(names, &DAILY, d("2026-12-01"), 14);
        assert_eq!(
            got,
            vec![
                "logs-alertingscout-2026.11.16".to_owned(),
                "traces-alertingscout-2026.11.16".to_owned()
            ]
        );
        assert!(expired_indices(names, &[], d("2026-12-01"), 14).is_empty());
    }

    const DAILY: [&str; 2] = crate::retention::DAILY_PREFIXES;
}
