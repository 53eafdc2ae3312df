//! Wall-clock times of the lean path's records as OTLP writes them: nanoseconds
//! since the Unix epoch.
//!
//! A `SystemTime` has to be converted on the export thread (`duration_since` the
//! epoch: about 55 instructions, six times per POST /projects request, 5 % of the
//! export thread's work by callgrind); read as nanoseconds once, a record's end is
//! its start plus the elapsed nanoseconds, and the encoder writes the number as it is.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixNanos(pub u64);

impl UnixNanos {
    /// Now, from the same clock as `SystemTime::now` (CLOCK_REALTIME, vDSO).
    pub fn now() -> UnixNanos {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the call's duration.
        let read = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        if read != 0 || ts.tv_sec < 0 {
            // Never on Linux; a clock before 1970 is written as SystemTime would be.
            return UnixNanos::of(SystemTime::now());
        }
        UnixNanos((ts.tv_sec as u64).saturating_mul(1_000_000_000) + ts.tv_nsec as u64)
    }

    /// `time` as nanoseconds since the epoch; 0 before it (OTLP's "unset").
    pub fn of(time: SystemTime) -> UnixNanos {
        UnixNanos(
            time.duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }

    /// `elapsed` later.
    pub fn plus(self, elapsed: Duration) -> UnixNanos {
        let elapsed = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        UnixNanos(self.0.saturating_add(elapsed))
    }

    /// The same instant as a `SystemTime` (the SDK's records take one).
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_reads_the_clock_system_time_reads() {
        let before = UnixNanos::of(SystemTime::now());
        let now = UnixNanos::now();
        let after = UnixNanos::of(SystemTime::now());
        assert!(
            before <= now && now <= after,
            "{before:?} {now:?} {after:?}"
        );
    }

    #[test]
    fn conversions_round_trip_and_add_exactly() {
        let t = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        let n = UnixNanos::of(t);
        assert_eq!(n, UnixNanos(1_700_000_000_123_456_789));
        assert_eq!(n.to_system_time(), t);
        assert_eq!(
            n.plus(Duration::from_micros(1_234)),
            UnixNanos::of(t + Duration::from_micros(1_234))
        );
        assert_eq!(
            UnixNanos::of(UNIX_EPOCH - Duration::from_secs(1)),
            UnixNanos(0)
        );
        assert_eq!(
            UnixNanos(u64::MAX - 1).plus(Duration::from_secs(1)).0,
            u64::MAX
        );
    }
}
