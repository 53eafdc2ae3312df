//! The open model's timetable: when each iteration of an arrival-rate executor is due.
//! The rate moves linearly from one stage's target to the next (k6's ramping-arrival-rate),
//! so the cumulative count over a stage is N(t) = r0 t + (r1 - r0) t^2 / 2D and iteration j
//! is due where the count reaches j.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::run::scenario::Stage;

/// Due times of every iteration, as offsets from the start.
pub fn offsets(start_rate: f64, stages: &[Stage]) -> Vec<Duration> {
    let mut out = Vec::new();
    let mut stage_start = 0f64; // seconds
    let mut count_before = 0f64; // iterations due before this stage
    let mut next = 0u64; // the next iteration's index
    let mut r0 = start_rate;
    for s in stages {
        let d = s.duration.as_secs_f64();
        let r1 = s.target;
        let in_stage = (r0 + r1) / 2.0 * d;
        let a = (r1 - r0) / (2.0 * d.max(f64::MIN_POSITIVE));
        while (next as f64) < count_before + in_stage {
            let x = next as f64 - count_before;
            let t = if a.abs() < 1e-12 {
                x / r0
            } else {
                (-r0 + (r0 * r0 + 4.0 * a * x).max(0.0).sqrt()) / (2.0 * a)
            };
            out.push(Duration::from_secs_f64(
                (stage_start + t.clamp(0.0, d)).max(0.0),
            ));
            next += 1;
        }
        stage_start += d;
        count_before += in_stage;
        r0 = r1;
    }
    out
}

/// Hands out iterations in order; the first call fixes the start (shortly after, so every
/// user is running before the first is due).
pub struct Schedule {
    offsets: Vec<Duration>,
    start: OnceLock<Instant>,
    next: AtomicUsize,
    done: AtomicUsize,
    late: AtomicU64,
}

/// Lead time between the first user asking and the first iteration being due.
const LEAD: Duration = Duration::from_millis(200);
/// An iteration started later than this after its due time counts as late.
const LATE: Duration = Duration::from_millis(1);

impl Schedule {
    pub fn new(offsets: Vec<Duration>) -> Schedule {
        Schedule {
            offsets,
            start: OnceLock::new(),
            next: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            late: AtomicU64::new(0),
        }
    }

    pub fn total(&self) -> usize {
        self.offsets.len()
    }

    /// The next iteration's due time, None when every iteration has been handed out.
    pub fn take(&self) -> Option<Instant> {
        let start = *self.start.get_or_init(|| Instant::now() + LEAD);
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let due = start + *self.offsets.get(i)?;
        if Instant::now() > due + LATE {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
        Some(due)
    }

    /// Marks one iteration finished; true for the last one.
    pub fn finish(&self) -> bool {
        self.done.fetch_add(1, Ordering::Relaxed) + 1 == self.offsets.len()
    }

    /// Iterations never started (the run ended first).
    pub fn dropped(&self) -> u64 {
        let taken = self.next.load(Ordering::Relaxed).min(self.offsets.len());
        (self.offsets.len() - taken) as u64
    }

    pub fn late(&self) -> u64 {
        self.late.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(secs: u64, target: f64) -> Stage {
        Stage {
            duration: Duration::from_secs(secs),
            target,
        }
    }

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let o = offsets(10.0, &[stage(2, 10.0)]);
        assert_eq!(o.len(), 20);
        assert_eq!(o[0], Duration::ZERO);
        assert!((o[1].as_secs_f64() - 0.1).abs() < 1e-9);
        assert!((o[19].as_secs_f64() - 1.9).abs() < 1e-9);
    }

    #[test]
    fn ramp_counts_the_area_under_the_rate() {
        // 0 -> 20/s over 10 s: 100 iterations, the later ones denser; then 20/s for 5 s.
        let o = offsets(0.0, &[stage(10, 20.0), stage(5, 20.0)]);
        assert_eq!(o.len(), 200);
        assert!(o.windows(2).all(|w| w[0] <= w[1]), "monotonic");
        // Half the ramp's iterations are due after 10 / sqrt(2) s.
        assert!((o[50].as_secs_f64() - 10.0 / 2f64.sqrt()).abs() < 0.01);
        assert!((o[100].as_secs_f64() - 10.0).abs() < 0.01);
        assert!(o[199] < Duration::from_secs(15));
        // And down again: 20 -> 0 over 10 s is 100 more.
        let o = offsets(20.0, &[stage(10, 0.0)]);
        assert_eq!(o.len(), 100);
        assert!(o.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn hands_out_each_iteration_once() {
        let s = Schedule::new(offsets(100.0, &[stage(1, 100.0)]));
        let mut n = 0;
        while s.take().is_some() {
            n += 1;
        }
        assert_eq!(n, 100);
        assert_eq!(s.dropped(), 0);
        assert!((0..99).all(|_| !s.finish()));
        assert!(s.finish());
    }
}
