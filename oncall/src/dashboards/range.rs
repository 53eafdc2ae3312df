//! The time range a dashboard is looked at over, and the intervals Grafana
//! derives from it (`$__interval`, `$__rate_interval`, the query step).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The Prometheus datasource's `timeInterval` (grafana/provisioning/datasources:
/// the scrape interval): the smallest `$__interval` and the base of `$__rate_interval`.
pub const SCRAPE_INTERVAL: Duration = Duration::from_secs(5);

/// About one point per two pixels of a wide panel: enough resolution for a
/// snapshot, and the same order as Grafana's max data points.
pub const MAX_DATA_POINTS: u32 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl TimeRange {
    /// The last `span` up to `now`.
    pub fn last(span: Duration, now: DateTime<Utc>) -> TimeRange {
        let span = chrono::Duration::from_std(span).unwrap_or(chrono::Duration::MAX);
        TimeRange {
            from: now
                .checked_sub_signed(span)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            to: now,
        }
    }

    pub fn span(&self) -> Duration {
        (self.to - self.from).to_std().unwrap_or_default()
    }
}

/// `$__interval` (also the range query's step) and `$__rate_interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intervals {
    pub interval: Duration,
    pub rate_interval: Duration,
}

impl Intervals {
    /// Grafana's rules: the interval is the span over the max data points, at
    /// least the scrape interval, rounded up to a readable step; the rate
    /// interval is max(interval + scrape, 4 x scrape), so a rate() always sees
    /// at least four scrapes.
    pub fn for_range(range: &TimeRange, max_points: u32, scrape: Duration) -> Intervals {
        let raw = range.span() / max_points.max(1);
        let interval = round_up(raw.max(scrape));
        Intervals {
            interval,
            rate_interval: (interval + scrape).max(scrape * 4),
        }
    }
}

/// The smallest readable step at least `d` (1s, 2s, 5s, 10s, 15s, 30s, 1m, ...).
fn round_up(d: Duration) -> Duration {
    const STEPS: [u64; 17] = [
        1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 21600,
    ];
    STEPS
        .iter()
        .map(|&s| Duration::from_secs(s))
        .find(|&s| s >= d)
        .unwrap_or_else(|| Duration::from_secs(d.as_secs().div_ceil(3600) * 3600))
}

/// A duration as PromQL writes one: `20s`, or `500ms` below a second.
pub fn promql_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(minutes: u64) -> TimeRange {
        let now: DateTime<Utc> = "2026-01-01T12:00:00Z".parse().expect("time");
        TimeRange::last(Duration::from_secs(minutes * 60), now)
    }

    #[test]
    fn short_ranges_step_at_the_scrape_interval() {
        let i = Intervals::for_range(&range(15), MAX_DATA_POINTS, SCRAPE_INTERVAL);
        assert_eq!(i.interval, Duration::from_secs(5));
        assert_eq!(i.rate_interval, Duration::from_secs(20));
    }

    #[test]
    fn long_ranges_step_coarser_and_rate_covers_a_step() {
        let i = Intervals::for_range(&range(24 * 60), MAX_DATA_POINTS, SCRAPE_INTERVAL);
        // 86400 s / 600 = 144 s, rounded up to 5 minutes.
        assert_eq!(i.interval, Duration::from_secs(300));
        assert_eq!(i.rate_interval, Duration::from_secs(305));
    }

    #[test]
    fn durations_print_as_promql() {
        assert_eq!(promql_duration(Duration::from_secs(1800)), "1800s");
        assert_eq!(promql_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(range(30).span(), Duration::from_secs(1800));
    }
}
