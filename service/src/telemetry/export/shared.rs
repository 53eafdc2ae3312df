//! State shared by the producers (the SDK processors and the metric exporter)
//! and the export thread: the record queues, the metric payloads, the health
//! counters and the thread's wake-up. Its own module so the producers and the
//! pipeline both depend on it instead of on each other.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use parking_lot::Mutex;

use super::logs::LogItem;
use super::payload::Payload;
use super::queue::RecordQueue;
use super::spans::SpanItem;
use super::PerSignal;
use crate::telemetry::config::OtelConfig;
use crate::telemetry::health::TelemetryHealth;

/// Encoded metric snapshots kept while the collector is away (one per interval).
pub(super) const MAX_METRIC_PAYLOADS: usize = 24;

/// State shared by the processors (producers) and the export thread.
pub struct Shared {
    pub(super) spans: RecordQueue<SpanItem>,
    pub(super) logs: RecordQueue<LogItem>,
    metrics: Mutex<VecDeque<(Payload, u64)>>,
    pub(super) health: Arc<TelemetryHealth>,
    shutdown: AtomicBool,
    flush_waiters: Mutex<Vec<mpsc::Sender<()>>>,
    worker: Mutex<Option<std::thread::Thread>>,
    flush_timeout: Duration,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    pub(super) fn new(config: &OtelConfig, health: Arc<TelemetryHealth>) -> Self {
        Shared {
            spans: RecordQueue::new(
                config.spans.max_queue_size,
                config.spans.max_export_batch_size,
            ),
            logs: RecordQueue::new(
                config.logs.max_queue_size,
                config.logs.max_export_batch_size,
            ),
            metrics: Mutex::new(VecDeque::new()),
            health,
            shutdown: AtomicBool::new(false),
            flush_waiters: Mutex::new(Vec::new()),
            worker: Mutex::new(None),
            // A flush waits for one export attempt, at most.
            flush_timeout: config.exporter.timeout + Duration::from_secs(1),
        }
    }

    /// The export thread, woken by full batches, metric payloads, flushes and shutdown.
    pub(super) fn set_worker(&self, worker: std::thread::Thread) {
        self.spans.set_worker(worker.clone());
        self.logs.set_worker(worker.clone());
        *self.worker.lock() = Some(worker);
    }

    pub(super) fn queued(&self) -> PerSignal<u64> {
        PerSignal {
            traces: self.spans.len() as u64,
            logs: self.logs.len() as u64,
            metrics: self.metrics.lock().iter().map(|(_, n)| n).sum(),
        }
    }

    pub(super) fn take_metrics(&self) -> Vec<(Payload, u64)> {
        self.metrics.lock().drain(..).collect()
    }

    pub(super) fn take_flush_waiters(&self) -> Vec<mpsc::Sender<()>> {
        std::mem::take(&mut *self.flush_waiters.lock())
    }

    pub(super) fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    pub(super) fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
        self.wake();
    }

    fn wake(&self) {
        if let Some(worker) = self.worker.lock().as_ref() {
            worker.unpark();
        }
    }

    pub(super) fn push_metrics(&self, body: Payload, points: u64) {
        let mut queue = self.metrics.lock();
        if queue.len() >= MAX_METRIC_PAYLOADS {
            if let Some((_, lost)) = queue.pop_front() {
                self.health.metrics.record_dropped(lost);
            }
        }
        queue.push_back((body, points));
        self.health
            .metrics
            .queued
            .fetch_add(points, Ordering::Relaxed);
        drop(queue);
        self.wake();
    }

    /// Asks the export thread to send everything queued now and waits for it
    /// (bounded by the export timeout).
    pub(super) fn flush(&self) {
        if self.shutdown.load(Ordering::Acquire) || self.worker.lock().is_none() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        self.flush_waiters.lock().push(tx);
        self.wake();
        let _ = rx.recv_timeout(self.flush_timeout);
    }
}
