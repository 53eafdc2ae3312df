//! The export thread: drains the queues on a timer or when a batch is full,
//! encodes, sends, and keeps failed requests for retry with backoff so a
//! collector restart loses nothing that fits in the queue.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::logs::{LogEncoder, LogItem};
use super::metrics::QueueMetricExporter;
use super::payload::Payload;
use super::processors::{LogSink, QueueLogProcessor, QueueSpanProcessor, SpanSink};
use super::queue::RecordQueue;
use super::resource::EncodedResource;
use super::shared::{Shared, MAX_METRIC_PAYLOADS};
use super::spans::{SpanItem, TraceEncoder};
use super::transport::{Sender, Transport};
use super::{PerSignal, Signal};
use crate::panic_message::panic_message;
use crate::telemetry::config::OtelConfig;
use crate::telemetry::exemplars::ExemplarStore;
use crate::telemetry::health::{SignalStats, TelemetryHealth};

const MAX_BACKOFF: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// One failed request kept for a later attempt.
struct Retry {
    payload: Payload,
    records: u64,
}

/// Per-signal retry state.
struct Outbox {
    signal: Signal,
    retries: VecDeque<Retry>,
    retry_records: u64,
    max_records: u64,
    next_attempt: Instant,
    backoff: Duration,
}

impl Outbox {
    fn new(signal: Signal, max_records: usize) -> Self {
        Outbox {
            signal,
            retries: VecDeque::new(),
            retry_records: 0,
            max_records: max_records as u64,
            next_attempt: Instant::now(),
            backoff: FIRST_BACKOFF,
        }
    }

    fn pending(&self) -> u64 {
        self.retry_records
    }

    fn keep(&mut self, retry: Retry, stats: &SignalStats) {
        self.retry_records += retry.records;
        self.retries.push_back(retry);
        // Bounded like the queue: the oldest goes first.
        while self.retry_records > self.max_records && self.retries.len() > 1 {
            if let Some(old) = self.retries.pop_front() {
                self.retry_records -= old.records;
                stats.record_dropped(old.records);
            }
        }
        stats.retrying.store(self.retry_records, Ordering::Relaxed);
    }

    /// Sends a new request, or queues it behind earlier failures.
    fn send(
        &mut self,
        transport: &dyn Sender,
        payload: Payload,
        records: u64,
        stats: &SignalStats,
    ) {
        let retry = Retry { payload, records };
        if !self.retries.is_empty() {
            self.keep(retry, stats);
            return;
        }
        if let Err(retry) = self.attempt(transport, retry, stats) {
            self.keep(retry, stats);
        }
    }

    fn attempt(
        &mut self,
        transport: &dyn Sender,
        retry: Retry,
        stats: &SignalStats,
    ) -> Result<(), Retry> {
        // A panic in the sender (a dependency's, on a reply no collector should
        // send) is one failed attempt, not the end of the export thread and of
        // every record after it.
        let sent = std::panic::catch_unwind(AssertUnwindSafe(|| {
            transport.send(self.signal, &retry.payload)
        }))
        .unwrap_or_else(|panic| {
            Err(format!(
                "export panicked: {}",
                panic_message(panic.as_ref())
            ))
        });
        match sent {
            Ok(accepted) => {
                stats.record_success(retry.records.saturating_sub(accepted.rejected));
                stats.record_dropped(accepted.rejected);
                self.backoff = FIRST_BACKOFF;
                Ok(())
            }
            Err(error) => {
                stats.record_failure(error);
                self.next_attempt = Instant::now() + self.backoff;
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                Err(retry)
            }
        }
    }

    /// Retries kept requests, oldest first, when their backoff has passed
    /// (or unconditionally when `force`).
    fn retry(&mut self, transport: &dyn Sender, stats: &SignalStats, force: bool) {
        if self.retries.is_empty() || (!force && Instant::now() < self.next_attempt) {
            return;
        }
        while let Some(retry) = self.retries.pop_front() {
            let records = retry.records;
            match self.attempt(transport, retry, stats) {
                Ok(()) => {
                    self.retry_records -= records;
                    stats.retrying.store(self.retry_records, Ordering::Relaxed);
                }
                Err(retry) => {
                    self.retries.push_front(retry);
                    return;
                }
            }
        }
    }

    fn give_up(&mut self, stats: &SignalStats) {
        stats.record_dropped(self.retry_records);
        self.retries.clear();
        self.retry_records = 0;
        stats.retrying.store(0, Ordering::Relaxed);
    }
}

/// The export pipeline: owns the export thread.
pub struct Pipeline {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Pipeline {
    pub fn start(
        config: &OtelConfig,
        resource: EncodedResource,
        health: Arc<TelemetryHealth>,
    ) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared::new(config, health));
        let transport: Box<dyn Sender> = Box::new(Transport::new(config.exporter.clone())?);
        let worker = Worker {
            shared: Arc::clone(&shared),
            transport,
            traces: TraceEncoder::new(resource.clone()),
            logs: LogEncoder::new(resource),
            outboxes: PerSignal {
                traces: Outbox::new(Signal::Traces, config.spans.max_queue_size),
                logs: Outbox::new(Signal::Logs, config.logs.max_queue_size),
                metrics: Outbox::new(Signal::Metrics, MAX_METRIC_PAYLOADS * 1000),
            },
            span_delay: config.spans.schedule_delay,
            log_delay: config.logs.schedule_delay,
        };
        let nice = config.export_nice;
        let watched = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("otel-export".into())
            .spawn(move || {
                lower_priority(nice);
                run_reporting_an_early_end(|| worker.run(), || watched.stopping(), &watched.health)
            })?;
        shared.set_worker(thread.thread().clone());
        Ok(Pipeline {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn span_processor(&self) -> QueueSpanProcessor {
        QueueSpanProcessor::new(Arc::clone(&self.shared))
    }

    pub fn log_processor(&self) -> QueueLogProcessor {
        QueueLogProcessor::new(Arc::clone(&self.shared))
    }

    pub fn span_sink(&self) -> SpanSink {
        SpanSink::new(Arc::clone(&self.shared))
    }

    pub fn log_sink(&self) -> LogSink {
        LogSink::new(Arc::clone(&self.shared))
    }

    /// The export path's own health as metrics (see `self_metrics`).
    pub fn register_metrics(&self, meter: &opentelemetry::metrics::Meter) {
        super::self_metrics::register(meter, &self.shared);
    }

    pub fn metric_exporter(&self, exemplars: Arc<ExemplarStore>) -> QueueMetricExporter {
        QueueMetricExporter::new(Arc::clone(&self.shared), exemplars)
    }

    /// Records waiting per signal (queued or kept for retry are both counted
    /// by the worker; this is the queue part).
    pub fn queued(&self) -> PerSignal<u64> {
        self.shared.queued()
    }

    /// Sends what is left (one attempt each) and stops the export thread.
    /// Call it from outside the application's runtime workers.
    pub fn shutdown(&self) {
        self.shared.request_shutdown();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

/// Runs the export loop; if it ends other than by shutdown (a panic that the
/// send's and the encoding's own catches did not take), every signal reports
/// it. Otherwise `/health/telemetry` would go on saying "ok" while the queues
/// fill with records nobody sends.
fn run_reporting_an_early_end(
    run: impl FnOnce(),
    stopping: impl Fn() -> bool,
    health: &TelemetryHealth,
) {
    let error = match std::panic::catch_unwind(AssertUnwindSafe(run)) {
        Ok(()) if stopping() => return,
        Ok(()) => "the export thread ended".to_owned(),
        Err(panic) => format!(
            "the export thread ended: it panicked: {}",
            panic_message(panic.as_ref())
        ),
    };
    for stats in health.iter() {
        stats.record_failure(error.clone());
    }
}

struct Worker {
    shared: Arc<Shared>,
    transport: Box<dyn Sender>,
    traces: TraceEncoder,
    logs: LogEncoder,
    outboxes: PerSignal<Outbox>,
    span_delay: Duration,
    log_delay: Duration,
}

impl Worker {
    fn run(mut self) {
        let mut next_spans = Instant::now() + self.span_delay;
        let mut next_logs = Instant::now() + self.log_delay;
        let mut span_buf: Vec<Vec<SpanItem>> = Vec::new();
        let mut log_buf: Vec<Vec<LogItem>> = Vec::new();
        loop {
            let stopping = self.shared.stopping();
            let waiters = self.shared.take_flush_waiters();
            let force = stopping || !waiters.is_empty();
            let health = Arc::clone(&self.shared.health);

            for outbox in self.outboxes.iter_mut() {
                let stats = health.get(outbox.signal);
                outbox.retry(self.transport.as_ref(), stats, stopping);
            }

            let now = Instant::now();
            let spans = &self.shared.spans;
            let timer = now >= next_spans;
            let due = force || timer || spans.len() >= spans.batch_size();
            let sent = export_due(
                spans,
                &mut span_buf,
                due,
                |chunk, body| self.traces.encode(chunk, body),
                &mut self.outboxes.traces,
                self.transport.as_ref(),
                &health.traces,
            );
            // A timer that fired re-arms even when the queue was empty: otherwise
            // its deadline stays in the past and park_timeout(0) spins while idle.
            if sent || timer {
                next_spans = Instant::now() + self.span_delay;
            }
            let logs = &self.shared.logs;
            let timer = now >= next_logs;
            let due = force || timer || logs.len() >= logs.batch_size();
            let sent = export_due(
                logs,
                &mut log_buf,
                due,
                |chunk, body| self.logs.encode(chunk, body),
                &mut self.outboxes.logs,
                self.transport.as_ref(),
                &health.logs,
            );
            if sent || timer {
                next_logs = Instant::now() + self.log_delay;
            }
            for (body, points) in self.shared.take_metrics() {
                self.outboxes
                    .metrics
                    .send(self.transport.as_ref(), body, points, &health.metrics);
            }

            for waiter in waiters {
                let _ = waiter.send(());
            }
            if stopping {
                for outbox in self.outboxes.iter_mut() {
                    outbox.give_up(health.get(outbox.signal));
                }
                return;
            }
            let mut wake_at = next_spans.min(next_logs);
            for outbox in self.outboxes.iter() {
                if outbox.pending() > 0 {
                    wake_at = wake_at.min(outbox.next_attempt);
                }
            }
            std::thread::park_timeout(wake_at.saturating_duration_since(Instant::now()));
        }
    }
}

/// When `due` and records are queued: drains the queue and sends it batch by
/// batch. Returns whether it ran (so the caller restarts its timer).
fn export_due<T>(
    queue: &RecordQueue<T>,
    batches: &mut Vec<Vec<T>>,
    due: bool,
    mut encode: impl FnMut(&[T], &mut Vec<u8>),
    outbox: &mut Outbox,
    transport: &dyn Sender,
    stats: &SignalStats,
) -> bool {
    if !due || queue.is_empty() {
        return false;
    }
    queue.drain_into(batches);
    for batch in batches.iter() {
        // An encoder panic (a bug of ours, on some record) loses this batch, counted
        // and reported as a failure, not the export thread and every batch after it.
        let encoded = std::panic::catch_unwind(AssertUnwindSafe(|| {
            Payload::encode(|body| encode(batch, body))
        }));
        match encoded {
            Ok(payload) => outbox.send(transport, payload, batch.len() as u64, stats),
            Err(panic) => {
                stats.record_dropped(batch.len() as u64);
                stats.record_failure(format!(
                    "encoding panicked: {}",
                    panic_message(panic.as_ref())
                ));
            }
        }
    }
    // The emptied buffers go back to the queue for its next records.
    queue.recycle(batches);
    true
}

/// Schedules the calling thread at `nice` (Linux keeps a nice value per thread):
/// on a core shared with the request threads, the export work waits for them
/// rather than delaying them. Raising one's own nice needs no privilege; should it
/// fail anyway, the thread runs at the default priority and says so.
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    // SAFETY: gettid and setpriority take plain integers and touch no memory of ours.
    let result = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, nice)
    };
    if result != 0 {
        tracing::warn!(
            nice,
            error = %std::io::Error::last_os_error(),
            "could not lower the export thread's priority"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::atomic::Ordering::Relaxed;

    use super::*;
    use crate::telemetry::export::transport::Accepted;

    /// Answers from a script (then accepts everything) and keeps what it was sent.
    #[derive(Default)]
    struct FakeCollector {
        answers: Mutex<VecDeque<Result<Accepted, String>>>,
        sent: Mutex<Vec<Payload>>,
    }

    impl FakeCollector {
        fn answering(answers: impl IntoIterator<Item = Result<Accepted, String>>) -> Self {
            FakeCollector {
                answers: Mutex::new(answers.into_iter().collect()),
                sent: Mutex::default(),
            }
        }

        fn sent(&self) -> Vec<Payload> {
            self.sent.lock().clone()
        }
    }

    impl Sender for FakeCollector {
        fn send(&self, _signal: Signal, payload: &Payload) -> Result<Accepted, String> {
            self.sent.lock().push(payload.clone());
            self.answers
                .lock()
                .pop_front()
                .unwrap_or(Ok(Accepted { rejected: 0 }))
        }
    }

    fn down() -> Result<Accepted, String> {
        Err("collector down".into())
    }

    fn body(n: u8) -> Payload {
        Payload::encode(|buf| buf.push(n))
    }

    #[test]
    fn a_success_is_counted_and_a_partial_rejection_dropped() {
        let stats = SignalStats::default();
        let fake = FakeCollector::answering([Ok(Accepted { rejected: 2 })]);
        let mut outbox = Outbox::new(Signal::Logs, 100);
        outbox.send(&fake, body(1), 10, &stats);
        assert_eq!(stats.exported.load(Relaxed), 8);
        assert_eq!(stats.dropped.load(Relaxed), 2);
        assert_eq!(outbox.pending(), 0);
    }

    #[test]
    fn a_failure_is_kept_and_later_requests_queue_behind_it_in_order() {
        let stats = SignalStats::default();
        let fake = FakeCollector::answering([down()]);
        let mut outbox = Outbox::new(Signal::Traces, 100);
        outbox.send(&fake, body(1), 10, &stats);
        outbox.send(&fake, body(2), 5, &stats);
        assert_eq!(
            fake.sent().len(),
            1,
            "no attempt while an earlier one waits"
        );
        assert_eq!(outbox.pending(), 15);
        assert_eq!(stats.retrying.load(Relaxed), 15);
        assert_eq!(stats.failed_exports.load(Relaxed), 1);

        // Before the backoff has passed nothing is retried; forced, oldest first.
        outbox.retry(&fake, &stats, false);
        assert_eq!(fake.sent().len(), 1);
        outbox.retry(&fake, &stats, true);
        assert_eq!(fake.sent(), vec![body(1), body(1), body(2)]);
        assert_eq!(outbox.pending(), 0);
        assert_eq!(stats.exported.load(Relaxed), 15);
        assert_eq!(stats.dropped.load(Relaxed), 0, "nothing lost");
    }

    /// Panics on its first call (as tonic 0.14's status reader does on a bad
    /// grpc-status-details-bin), then accepts everything.
    #[derive(Default)]
    struct PanicsOnce {
        calls: std::sync::atomic::AtomicU32,
    }

    impl Sender for PanicsOnce {
        fn send(&self, _signal: Signal, _payload: &Payload) -> Result<Accepted, String> {
            if self.calls.fetch_add(1, Relaxed) == 0 {
                panic!("Invalid status header, expected base64 encoded value");
            }
            Ok(Accepted { rejected: 0 })
        }
    }

    #[test]
    fn a_panicking_send_is_a_failed_attempt_and_its_records_are_retried() {
        let stats = SignalStats::default();
        let sender = PanicsOnce::default();
        let mut outbox = Outbox::new(Signal::Traces, 100);
        outbox.send(&sender, body(1), 10, &stats);
        assert_eq!(outbox.pending(), 10, "kept for retry");
        assert_eq!(stats.failed_exports.load(Relaxed), 1);
        assert_eq!(
            stats.snapshot(0).last_error.as_deref(),
            Some("export panicked: Invalid status header, expected base64 encoded value")
        );
        outbox.retry(&sender, &stats, true);
        assert_eq!(outbox.pending(), 0);
        assert_eq!(stats.exported.load(Relaxed), 10);
        assert_eq!(stats.dropped.load(Relaxed), 0, "nothing lost");
    }

    #[test]
    fn a_batch_whose_encoding_panics_is_dropped_and_counted_and_the_rest_are_sent() {
        let stats = SignalStats::default();
        let queue = RecordQueue::new(100, 2);
        for record in [1u8, 2, 3, 4, 5, 6] {
            queue.push(record, &stats);
        }
        let fake = FakeCollector::default();
        let mut outbox = Outbox::new(Signal::Logs, 100);
        let mut batches = Vec::new();
        let encode = |batch: &[u8], body: &mut Vec<u8>| {
            assert!(!batch.contains(&3), "a record the encoder cannot take");
            body.extend_from_slice(batch);
        };
        let ran = export_due(
            &queue,
            &mut batches,
            true,
            encode,
            &mut outbox,
            &fake,
            &stats,
        );
        assert!(ran);
        let sent = [[1, 2], [5, 6]].map(|batch| Payload::encode(|body| body.extend(batch)));
        assert_eq!(fake.sent(), sent);
        assert_eq!(stats.exported.load(Relaxed), 4);
        assert_eq!(stats.dropped.load(Relaxed), 2);
        assert_eq!(stats.failed_exports.load(Relaxed), 1);
        assert_eq!(
            stats.snapshot(0).last_error.as_deref(),
            Some("encoding panicked: a record the encoder cannot take")
        );
        assert!(queue.is_empty());
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_resets_after_a_success() {
        let stats = SignalStats::default();
        let fake = FakeCollector::answering(std::iter::repeat_with(down).take(10));
        let mut outbox = Outbox::new(Signal::Metrics, 100);
        outbox.send(&fake, body(1), 1, &stats);
        let mut waits = vec![outbox.backoff];
        for _ in 0..8 {
            let before = Instant::now();
            outbox.retry(&fake, &stats, true);
            assert!(
                outbox.next_attempt > before,
                "the next attempt is in the future"
            );
            waits.push(outbox.backoff);
        }
        let secs: Vec<u64> = waits.iter().map(|d| d.as_millis() as u64).collect();
        assert_eq!(
            secs,
            [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]
        );
        outbox.retry(&fake, &stats, true);
        outbox.retry(&fake, &stats, true);
        assert_eq!(outbox.pending(), 0);
        assert_eq!(outbox.backoff, FIRST_BACKOFF);
    }

    #[test]
    fn the_retry_store_is_bounded_and_drops_the_oldest() {
        let stats = SignalStats::default();
        let fake = FakeCollector::answering([down()]);
        let mut outbox = Outbox::new(Signal::Logs, 25);
        for n in 0..4 {
            outbox.send(&fake, body(n), 10, &stats);
        }
        // 40 records kept for a bound of 25: the two oldest requests went.
        assert_eq!(outbox.pending(), 20);
        assert_eq!(stats.dropped.load(Relaxed), 20);
        outbox.retry(&fake, &stats, true);
        assert_eq!(&fake.sent()[1..], &[body(2), body(3)]);
    }

    #[test]
    fn giving_up_at_shutdown_counts_what_is_lost() {
        let stats = SignalStats::default();
        let fake = FakeCollector::answering([down()]);
        let mut outbox = Outbox::new(Signal::Logs, 100);
        outbox.send(&fake, body(1), 7, &stats);
        outbox.give_up(&stats);
        assert_eq!(stats.dropped.load(Relaxed), 7);
        assert_eq!(stats.retrying.load(Relaxed), 0);
        assert_eq!(outbox.pending(), 0);
    }

    #[test]
    fn an_export_loop_that_ends_early_leaves_every_signal_unhealthy_with_the_cause() {
        struct Case {
            name: &'static str,
            run: fn(),
            stopping: bool,
            error: Option<&'static str>,
        }
        let cases = [
            Case {
                name: "shutdown",
                run: || {},
                stopping: true,
                error: None,
            },
            Case {
                name: "returned",
                run: || {},
                stopping: false,
                error: Some("the export thread ended"),
            },
            Case {
                name: "panicked",
                run: || panic!("queue poisoned"),
                stopping: false,
                error: Some("the export thread ended: it panicked: queue poisoned"),
            },
        ];
        for case in cases {
            let health = TelemetryHealth::default();
            run_reporting_an_early_end(case.run, || case.stopping, &health);
            for (signal, stats) in Signal::ALL.into_iter().zip(health.iter()) {
                let report = stats.snapshot(0);
                let what = format!("{}: {signal:?}", case.name);
                assert_eq!(report.healthy, case.error.is_none(), "{what}");
                assert_eq!(report.last_error.as_deref(), case.error, "{what}");
            }
        }
    }
}

#[cfg(test)]
mod priority_tests {
    use std::sync::Arc;

    use super::Pipeline;
    use crate::telemetry::config::{OtelConfig, EXPORT_NICE_VARIABLE};

    /// The nice values of this process's threads named `otel-export`, from /proc.
    fn export_thread_nices() -> Vec<i64> {
        let mut nices = Vec::new();
        for task in std::fs::read_dir("/proc/self/task")
            .expect("procfs")
            .flatten()
        {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim() != "otel-export" {
                continue;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // Fields after the parenthesised name: state is field 3, nice field 19.
            let after_name = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
            if let Some(nice) = after_name.split(' ').nth(16) {
                nices.push(nice.parse().expect("a number"));
            }
        }
        nices
    }

    #[test]
    fn the_export_thread_runs_at_the_configured_nice() {
        // 13: a value no other test configures.
        let config = OtelConfig::from_lookup(|key| match key {
            EXPORT_NICE_VARIABLE => Some("13".into()),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://127.0.0.1:9".into()),
            _ => None,
        })
        .expect("valid config");
        let pipeline =
            Pipeline::start(&config, Default::default(), Arc::default()).expect("started");
        let mut seen = Vec::new();
        for _ in 0..100 {
            seen = export_thread_nices();
            if seen.contains(&13) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        pipeline.shutdown();
        assert!(
            seen.contains(&13),
            "otel-export threads' nice values: {seen:?}"
        );
    }
}
