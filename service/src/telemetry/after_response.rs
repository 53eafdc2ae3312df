//! A request's records made after its response is on the wire: when the
//! runtime worker that served it next goes idle.
//!
//! Everything `http::InFlight` records at a request's end (the span record, the
//! access record, the duration histogram and its exemplar, the active-requests
//! gauge) used to run before the response was handed back to hyper, so every
//! response waited for it: about 1,800 of GET /health's 3,700 request-thread
//! instructions, and more than that in time when caches are cold between requests
//! (docs/performance.md). The response needs only its `traceparent` and the
//! request's duration (read at the response, as before); the rest can wait until
//! the worker has written the response and has nothing else to run. Tokio calls
//! [`on_worker_park`] then (`Builder::on_thread_park`, wired in `main.rs`).
//!
//! Only threads whose runtime calls the hook defer (a thread starts deferring at its
//! first park), so a runtime without it (tests, examples, other embedders) records
//! at once as before ([`record_when_idle`]). A thread that has deferred [`MAX_PENDING`] requests without
//! going idle records the next one at once, so a saturated worker keeps a bounded
//! list. [`drain_all`] records what every thread still holds (telemetry shutdown, and a
//! scrape of the direct Prometheus endpoint, so it counts every request answered before it).

use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::http::EndedRequest;

/// Requests a busy worker holds before it records the next at once.
pub const MAX_PENDING: usize = 64;

/// One thread's requests waiting for its next idle moment, oldest first.
struct PendingList<T> {
    items: Mutex<Vec<T>>,
}

impl<T> PendingList<T> {
    fn new() -> Self {
        PendingList {
            items: Mutex::new(Vec::with_capacity(MAX_PENDING)),
        }
    }

    /// Keeps `item`, or gives it back when [`MAX_PENDING`] are waiting.
    fn push(&self, item: T) -> Result<(), T> {
        let mut items = self.items.lock();
        if items.len() >= MAX_PENDING {
            return Err(item);
        }
        items.push(item);
        Ok(())
    }

    /// Swaps the waiting items into `out` (which should be empty): the caller
    /// records them outside the lock, and `out`'s buffer is kept for next time.
    fn take(&self, out: &mut Vec<T>) {
        let mut items = self.items.lock();
        if !items.is_empty() {
            std::mem::swap(&mut *items, out);
        }
    }
}

type Pending = Arc<PendingList<EndedRequest>>;

thread_local! {
    /// This thread's list once its runtime has called [`on_worker_park`].
    static PENDING: OnceLock<Pending> = const { OnceLock::new() };
    /// The buffer swapped in when the list is drained (no allocation per park).
    static SPARE: Cell<Vec<EndedRequest>> = const { Cell::new(Vec::new()) };
}

/// Every thread's list, for [`drain_all`].
static LISTS: Mutex<Vec<Pending>> = Mutex::new(Vec::new());

/// Keeps `ended` for this thread's next idle moment, or records it now when this
/// thread does not defer (its runtime has no hook) or already holds [`MAX_PENDING`].
pub fn record_when_idle(ended: EndedRequest) {
    let refused = PENDING.with(|pending| match pending.get() {
        Some(list) => list.push(ended).err(),
        None => Some(ended),
    });
    if let Some(ended) = refused {
        ended.record();
    }
}

/// The runtime's `on_thread_park` hook: records what this worker deferred, and
/// makes the thread defer from now on.
pub fn on_worker_park() {
    PENDING.with(|pending| {
        let list = pending.get_or_init(|| {
            let list = Arc::new(PendingList::new());
            LISTS.lock().push(Arc::clone(&list));
            list
        });
        SPARE.with(|spare| {
            let mut taken = spare.take();
            list.take(&mut taken);
            record(&mut taken);
            spare.set(taken);
        });
    });
}

/// Records what any thread still holds.
pub fn drain_all() {
    let lists: Vec<Pending> = LISTS.lock().clone();
    let mut taken = Vec::new();
    for list in lists {
        list.take(&mut taken);
        record(&mut taken);
    }
}

/// Records the requests in order, outside any lock, and leaves `ended` empty.
fn record(ended: &mut Vec<EndedRequest>) {
    for request in ended.drain(..) {
        request.record();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_keeps_the_order_and_gives_back_what_is_past_its_bound() {
        let list = PendingList::new();
        for i in 0..MAX_PENDING {
            assert_eq!(list.push(i), Ok(()));
        }
        assert_eq!(list.push(MAX_PENDING), Err(MAX_PENDING));
        let mut out = Vec::new();
        list.take(&mut out);
        assert_eq!(out, (0..MAX_PENDING).collect::<Vec<_>>());
        // Room again, and the emptied buffer went in as the list's.
        out.clear();
        assert_eq!(list.push(7), Ok(()));
        list.take(&mut out);
        assert_eq!(out, [7]);
    }

    #[test]
    fn a_thread_defers_only_after_its_runtime_parked_it_once() {
        std::thread::spawn(|| {
            assert!(PENDING.with(|pending| pending.get().is_none()));
            on_worker_park();
            let list = PENDING.with(|pending| pending.get().map(Arc::clone));
            let list = list.expect("hooked");
            assert!(LISTS.lock().iter().any(|known| Arc::ptr_eq(known, &list)));
        })
        .join()
        .unwrap();
    }
}
