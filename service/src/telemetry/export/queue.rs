//! A bounded record queue that does not wake the export thread per record:
//! the hot path is one uncontended lock and a push; the exporter is woken once
//! per full batch (or by its timer). Waking a thread per record costs a
//! syscall and, on a busy core, a context switch: the main overhead of a
//! naive exporter.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::OnceLock;
use std::thread::Thread;

use parking_lot::Mutex;

use crate::telemetry::health::SignalStats;

pub struct RecordQueue<T> {
    items: Mutex<Vec<T>>,
    capacity: usize,
    batch_size: usize,
    /// The room each buffer keeps (see [`BATCHES_RESERVED`]).
    reserved: usize,
    worker: OnceLock<Thread>,
}

/// Batches' worth of room each buffer starts with: growing a full buffer copies
/// every record in it under the lock, on a request thread, so a queue the export
/// thread lags behind by up to this many batches never grows.
const BATCHES_RESERVED: usize = 4;

impl<T> RecordQueue<T> {
    pub fn new(capacity: usize, batch_size: usize) -> Self {
        let capacity = capacity.max(1);
        let batch_size = batch_size.clamp(1, capacity);
        let reserved = capacity.min(batch_size.saturating_mul(BATCHES_RESERVED));
        RecordQueue {
            items: Mutex::new(Vec::with_capacity(reserved)),
            capacity,
            batch_size,
            reserved,
            worker: OnceLock::new(),
        }
    }

    /// The thread to wake when a batch is ready.
    pub fn set_worker(&self, worker: Thread) {
        let _ = self.worker.set(worker);
    }

    /// Adds a record, or counts it dropped when the queue is full. Never blocks
    /// on the exporter.
    pub fn push(&self, item: T, stats: &SignalStats) {
        let len = {
            let mut items = self.items.lock();
            if items.len() >= self.capacity {
                drop(items);
                stats.record_dropped(1);
                return;
            }
            items.push(item);
            items.len()
        };
        stats.queued.fetch_add(1, Relaxed);
        if len == self.batch_size {
            if let Some(worker) = self.worker.get() {
                worker.unpark();
            }
        }
    }

    pub fn len(&self) -> usize {
        self.items.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Moves everything queued into `out` (which should be empty), leaving a
    /// fresh buffer behind.
    pub fn drain_into(&self, out: &mut Vec<T>) {
        let mut items = self.items.lock();
        std::mem::swap(&mut *items, out);
        items.reserve(self.reserved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts() {
        let stats = SignalStats::default();
        let queue = RecordQueue::new(3, 2);
        for i in 0..5 {
            queue.push(i, &stats);
        }
        assert_eq!(queue.len(), 3);
        assert_eq!(stats.dropped.load(Relaxed), 2);
        assert_eq!(stats.queued.load(Relaxed), 3);
        let mut out = Vec::new();
        queue.drain_into(&mut out);
        assert_eq!(out, vec![0, 1, 2]);
        assert!(queue.is_empty());
    }

    #[test]
    fn a_queue_lagging_up_to_four_batches_never_reallocates() {
        let stats = SignalStats::default();
        let queue = RecordQueue::new(8192, 512);
        let start = queue.items.lock().as_ptr();
        for i in 0..4 * 512 {
            queue.push(i, &stats);
        }
        assert_eq!(queue.items.lock().as_ptr(), start, "the buffer moved");
        // The buffer handed back after a drain gets the same room.
        let mut out = Vec::new();
        queue.drain_into(&mut out);
        assert!(queue.items.lock().capacity() >= 4 * 512);
        // Smaller queues reserve only their capacity.
        let small = RecordQueue::<u8>::new(100, 512);
        assert!((100..400).contains(&small.items.lock().capacity()));
    }
}
