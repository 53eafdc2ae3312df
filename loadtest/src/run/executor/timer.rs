//! Precise waits for the open model's due times.
//!
//! Tokio's timer wheel has 1 ms resolution, and a request that slept on it left p50
//! 0.87 ms, p99 2 ms after its due time (docs/performance.md), inside every latency
//! reported. Here one thread does the waiting, as the overhead gate's generator does:
//! with 1 ns of timer slack it sleeps until shortly before the earliest wake-up, spins
//! the rest, and wakes the user's task [`TASK_LEAD`] before the due time; the task then
//! yields until the due instant itself. The lead covers the tens of µs a parked tokio
//! worker needs to run a task woken from another thread, which would otherwise be added
//! to every send.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// The task is woken this long before its due time and yields until then. Measured at
/// 100/s on the 2-core VM: a lead of 100 µs gave a send lag p99 of 60-70 µs, 300 µs
/// 20-60 µs; the yielding costs a worker up to the lead per request (12 % of a core at
/// 600/s with 200 µs).
const TASK_LEAD: Duration = Duration::from_micros(200);
/// The timer thread spins (rather than sleeps) this last part of a wait: a futex
/// wait's wake-up can be late by this much on a busy virtual machine.
const THREAD_SPIN: Duration = Duration::from_micros(100);

/// The waiting thread; stopped and joined on drop.
pub struct Timer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    queue: BinaryHeap<Reverse<Wakeup>>,
    next_seq: u64,
    stop: bool,
}

struct Wakeup {
    at: Instant,
    /// Ties broken by arrival, so equal instants are served in order.
    seq: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Wakeup {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Wakeup {}
impl PartialOrd for Wakeup {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Wakeup {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl Timer {
    pub fn start() -> std::io::Result<Timer> {
        let shared = Arc::new(Shared::default());
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("loadtest-timer".into())
                .spawn(move || {
                    crate::timer_slack::tighten();
                    shared.serve();
                })?
        };
        Ok(Timer {
            shared,
            thread: Some(thread),
        })
    }

    /// Returns at `due` (or at once when it has passed), within microseconds.
    pub async fn sleep_until(&self, due: Instant) {
        if let Some(wake_at) = due.checked_sub(TASK_LEAD) {
            if wake_at > Instant::now() {
                let (tx, rx) = oneshot::channel();
                self.shared.register(wake_at, tx);
                // An error means the timer stopped: the run is over, so is the wait.
                let _ = rx.await;
            }
        }
        while Instant::now() < due {
            tokio::task::yield_now().await;
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the queue half-updated: push and pop are atomic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn register(&self, at: Instant, wake: oneshot::Sender<()>) {
        let mut state = self.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        let earliest = state.queue.peek().is_none_or(|Reverse(w)| at < w.at);
        state.queue.push(Reverse(Wakeup { at, seq, wake }));
        drop(state);
        if earliest {
            // The thread may be asleep until a later wake-up.
            self.changed.notify_one();
        }
    }

    fn serve(&self) {
        let mut state = self.lock();
        loop {
            if state.stop {
                return;
            }
            let now = Instant::now();
            let Some(at) = state.queue.peek().map(|Reverse(w)| w.at) else {
                state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
                continue;
            };
            if at > now + THREAD_SPIN {
                let nap = at - now - THREAD_SPIN;
                state = self
                    .changed
                    .wait_timeout(state, nap)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                continue;
            }
            drop(state);
            while Instant::now() < at {
                std::hint::spin_loop();
            }
            state = self.lock();
            let now = Instant::now();
            while state.queue.peek().is_some_and(|Reverse(w)| w.at <= now) {
                if let Some(Reverse(w)) = state.queue.pop() {
                    // The waiting task may be gone (the run ended): nothing to wake.
                    let _ = w.wake.send(());
                }
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_wakes_before_the_due_time() {
        let timer = Timer::start().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let start = Instant::now();
        let wait = |ms: u64| {
            let due = start + Duration::from_millis(ms);
            let timer = &timer;
            async move {
                timer.sleep_until(due).await;
                Instant::now().checked_duration_since(due)
            }
        };
        // Registered out of order, so the queue has to sort them.
        let late = rt.block_on(async { tokio::join!(wait(30), wait(10), wait(20), wait(0)) });
        for l in [late.0, late.1, late.2, late.3] {
            // Not before; and (a bound no busy machine reaches) not a second after.
            assert!(l.is_some_and(|l| l < Duration::from_secs(1)), "{l:?}");
        }
    }
}
