//! A bounded record queue that does not wake the export thread per record:
//! the hot path is one uncontended lock and a push; the exporter is woken once
//! per full batch (or by its timer). Waking a thread per record costs a
//! syscall and, on a busy core, a context switch: the main overhead of a
//! naive exporter.
//!
//! Records are kept in batch-sized buffers: a full one is set aside whole and
//! the next push fills another, so a queued record is never moved again until
//! the export thread takes it. One growing buffer would copy everything queued,
//! under the lock and on a request thread, each time the export thread lagged
//! past its room (about 950 instructions per request under callgrind, where the
//! export thread runs late). Drained buffers come back emptied for reuse, so
//! once warm a push allocates nothing.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::OnceLock;
use std::thread::Thread;

use parking_lot::Mutex;

use crate::telemetry::health::SignalStats;

pub struct RecordQueue<T> {
    batches: Mutex<Batches<T>>,
    capacity: usize,
    batch_size: usize,
    worker: OnceLock<Thread>,
}

struct Batches<T> {
    /// Full batches, oldest first.
    full: Vec<Vec<T>>,
    /// The batch being filled (room for `batch_size`, never more).
    open: Vec<T>,
    /// Emptied buffers handed back by the export thread.
    spare: Vec<Vec<T>>,
}

impl<T> Batches<T> {
    /// Records queued: every full batch holds exactly `batch_size`.
    fn len(&self, batch_size: usize) -> usize {
        self.full.len() * batch_size + self.open.len()
    }
}

/// Buffers kept for reuse (and made up front): a queue the export thread lags
/// behind by up to this many batches allocates nothing on a request thread.
const SPARE_BATCHES: usize = 4;

impl<T> RecordQueue<T> {
    pub fn new(capacity: usize, batch_size: usize) -> Self {
        let capacity = capacity.max(1);
        let batch_size = batch_size.clamp(1, capacity);
        // No more buffers than the queue can fill.
        let spares = SPARE_BATCHES.min(capacity.div_ceil(batch_size));
        RecordQueue {
            batches: Mutex::new(Batches {
                full: Vec::with_capacity(capacity.div_ceil(batch_size)),
                open: Vec::with_capacity(batch_size),
                spare: (0..spares)
                    .map(|_| Vec::with_capacity(batch_size))
                    .collect(),
            }),
            capacity,
            batch_size,
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
        let batch_full = {
            let mut batches = self.batches.lock();
            if batches.len(self.batch_size) >= self.capacity {
                drop(batches);
                stats.record_dropped(1);
                return;
            }
            let batches = &mut *batches;
            batches.open.push(item);
            let full = batches.open.len() >= self.batch_size;
            if full {
                let next = batches
                    .spare
                    .pop()
                    .unwrap_or_else(|| Vec::with_capacity(self.batch_size));
                let filled = std::mem::replace(&mut batches.open, next);
                batches.full.push(filled);
            }
            full
        };
        stats.queued.fetch_add(1, Relaxed);
        // Once per full batch, not per record.
        if batch_full {
            if let Some(worker) = self.worker.get() {
                worker.unpark();
            }
        }
    }

    pub fn len(&self) -> usize {
        self.batches.lock().len(self.batch_size)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Moves everything queued into `out` (which should be empty) as batches of at
    /// most `batch_size` records, oldest first.
    pub fn drain_into(&self, out: &mut Vec<Vec<T>>) {
        let mut batches = self.batches.lock();
        let batches = &mut *batches;
        out.append(&mut batches.full);
        if !batches.open.is_empty() {
            let next = batches
                .spare
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(self.batch_size));
            out.push(std::mem::replace(&mut batches.open, next));
        }
    }

    /// Takes back drained buffers (emptied here) for reuse, keeping a few.
    pub fn recycle(&self, drained: &mut Vec<Vec<T>>) {
        for batch in drained.iter_mut() {
            batch.clear();
        }
        let mut batches = self.batches.lock();
        while batches.spare.len() < SPARE_BATCHES {
            match drained.pop() {
                Some(batch) => batches.spare.push(batch),
                None => break,
            }
        }
        drop(batches);
        drained.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain<T>(queue: &RecordQueue<T>) -> Vec<Vec<T>> {
        let mut out = Vec::new();
        queue.drain_into(&mut out);
        out
    }

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
        assert_eq!(drain(&queue), vec![vec![0, 1], vec![2]]);
        assert!(queue.is_empty());
        // Room again once drained.
        queue.push(7, &stats);
        assert_eq!(drain(&queue), vec![vec![7]]);
    }

    #[test]
    fn drained_batches_keep_the_order_and_the_batch_size() {
        let stats = SignalStats::default();
        let queue = RecordQueue::new(100, 4);
        for i in 0..10 {
            queue.push(i, &stats);
        }
        let batches = drain(&queue);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
        assert_eq!(batches.concat(), (0..10).collect::<Vec<_>>());
        assert_eq!(drain(&queue), Vec::<Vec<i32>>::new());
    }

    #[test]
    fn a_lagging_export_thread_never_makes_a_push_move_queued_records() {
        let stats = SignalStats::default();
        let queue = RecordQueue::new(8192, 512);
        queue.push(0, &stats);
        let first = queue.batches.lock().open.as_ptr();
        // Sixteen batches queued with no drain: a single growing buffer would
        // have been copied to a larger one four times by now.
        for i in 1..16 * 512 {
            queue.push(i, &stats);
        }
        let batches = drain(&queue);
        assert_eq!(batches.len(), 16);
        assert_eq!(batches[0].as_ptr(), first, "the first batch moved");
        assert!(batches.iter().all(|batch| batch.capacity() == 512));
    }

    #[test]
    fn a_queue_drained_and_recycled_allocates_no_buffer_beyond_those_made_up_front() {
        let stats = SignalStats::default();
        let queue = RecordQueue::new(8192, 8);
        let made: Vec<*const i32> = {
            let batches = queue.batches.lock();
            std::iter::once(&batches.open)
                .chain(&batches.spare)
                .map(|batch| batch.as_ptr())
                .collect()
        };
        assert_eq!(made.len(), 1 + SPARE_BATCHES);
        // The export thread lagging by up to three batches, over and over, with
        // partly filled batches taken too.
        for round in 0..50 {
            for i in 0..(8 * (round % 4) + round % 7) {
                queue.push(i, &stats);
            }
            let mut drained = drain(&queue);
            for batch in &drained {
                assert!(
                    made.contains(&batch.as_ptr()),
                    "round {round}: a new buffer"
                );
            }
            queue.recycle(&mut drained);
            assert!(drained.is_empty());
        }
        // Small queues make no more buffers than they can fill.
        let small = RecordQueue::<u8>::new(100, 512);
        assert!(small.batches.lock().spare.len() <= 1);
    }
}
