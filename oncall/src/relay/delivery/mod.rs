//! Delivery of a notification to every target, each with retry and backoff; the
//! outbox last, recording where it went and what failed. A target that keeps
//! failing is logged, counted and named in the outbox line: never dropped silently.

mod outbox;
mod slack;

use std::time::Duration;

use futures_util::future::{join_all, BoxFuture};

pub use outbox::Outbox;
pub use slack::SlackWebhook;

use super::metrics::RelayMetrics;
use super::notification::Notification;

/// Why one attempt failed, and whether another may succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AttemptError {
    pub message: String,
    /// Connection errors, timeouts, 429 and 5xx are worth another try; other 4xx are not.
    pub retryable: bool,
}

/// A place notifications go: a chat webhook, a pager, ..., and the outbox last.
pub trait Target: Send + Sync {
    /// The name in `delivered_to` and in the metrics.
    fn name(&self) -> &str;
    fn send<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), AttemptError>>;
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        self.first_backoff
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_backoff)
    }
}

pub struct Deliverer {
    pub targets: Vec<Box<dyn Target>>,
    pub outbox: Outbox,
    pub retry: RetryPolicy,
    pub metrics: RelayMetrics,
}

impl Deliverer {
    /// Sends to every target side by side, then appends the outbox line. Fails only
    /// when the outbox could not be written (so Alertmanager retries the webhook).
    pub async fn deliver(
        &self,
        mut notification: Notification,
    ) -> Result<Notification, AttemptError> {
        let results = join_all(self.targets.iter().map(|target| {
            let n = &notification;
            async move {
                (
                    target.name().to_owned(),
                    self.with_retry(target.as_ref(), n).await,
                )
            }
        }))
        .await;
        for (name, result) in results {
            match result {
                Ok(()) => notification.delivered_to.push(name),
                Err(error) => {
                    notification.failed.insert(name, error.message);
                }
            }
        }
        // The outbox last, through the same retries, so its line records the others.
        notification.delivered_to.push(Outbox::NAME.to_owned());
        self.with_retry(&self.outbox, &notification).await?;
        Ok(notification)
    }

    async fn with_retry(
        &self,
        target: &dyn Target,
        notification: &Notification,
    ) -> Result<(), AttemptError> {
        let mut attempt = 0;
        loop {
            match target.send(notification).await {
                Ok(()) => {
                    self.metrics.delivered(target.name());
                    return Ok(());
                }
                Err(error) => {
                    attempt += 1;
                    if !error.retryable || attempt >= self.retry.attempts {
                        self.metrics.failed(target.name());
                        tracing::error!(
                            target_name = target.name(),
                            alertname = %notification.alertname,
                            attempts = attempt,
                            error = %error.message,
                            "delivery failed for good"
                        );
                        return Err(error);
                    }
                    self.metrics.retried(target.name());
                    tracing::warn!(target_name = target.name(), attempt, error = %error.message, "delivery failed; retrying");
                    tokio::time::sleep(self.retry.backoff(attempt - 1)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use super::*;

    /// Fails `failures` times (retryable or not), then accepts; counts the calls.
    struct Flaky {
        failures: u32,
        retryable: bool,
        calls: Arc<AtomicU32>,
    }

    impl Target for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        fn send<'a>(&'a self, _: &'a Notification) -> BoxFuture<'a, Result<(), AttemptError>> {
            Box::pin(async move {
                let call = self.calls.fetch_add(1, Ordering::SeqCst);
                if call < self.failures {
                    Err(AttemptError {
                        message: format!("failure {call}"),
                        retryable: self.retryable,
                    })
                } else {
                    Ok(())
                }
            })
        }
    }

    fn notification() -> Notification {
        let alert = serde_json::from_value(serde_json::json!({
            "status": "firing", "labels": {"alertname": "ApiHighErrorRate"},
            "startsAt": "2026-12-01T14:00:00Z"
        }))
        .unwrap();
        Notification::new(&alert, chrono::Utc::now())
    }

    fn deliverer(
        dir: &tempfile::TempDir,
        failures: u32,
        retryable: bool,
    ) -> (Deliverer, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let deliverer = Deliverer {
            targets: vec![Box::new(Flaky {
                failures,
                retryable,
                calls: Arc::clone(&calls),
            })],
            outbox: Outbox::new(dir.path().join("outbox.ndjson")),
            retry: RetryPolicy {
                attempts: 4,
                first_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(4),
            },
            metrics: RelayMetrics::noop(),
        };
        (deliverer, calls)
    }

    fn outbox_lines(dir: &tempfile::TempDir) -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.path().join("outbox.ndjson"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_flaky_target_is_retried_until_it_accepts() {
        let dir = tempfile::tempdir().unwrap();
        let (deliverer, calls) = deliverer(&dir, 2, true);
        let sent = deliverer.deliver(notification()).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(sent.delivered_to, ["flaky", "outbox"]);
        let lines = outbox_lines(&dir);
        assert_eq!(lines.len(), 1);
        assert_eq!(
            lines[0]["delivered_to"],
            serde_json::json!(["flaky", "outbox"])
        );
    }

    #[tokio::test]
    async fn a_target_that_keeps_failing_is_named_in_the_outbox_line() {
        let dir = tempfile::tempdir().unwrap();
        let (deliverer, calls) = deliverer(&dir, 100, true);
        deliverer.deliver(notification()).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 4, "every attempt used");
        let line = &outbox_lines(&dir)[0];
        assert_eq!(line["delivered_to"], serde_json::json!(["outbox"]));
        assert_eq!(line["failed"]["flaky"], "failure 3");
    }

    #[tokio::test]
    async fn a_permanent_refusal_is_not_retried() {
        let dir = tempfile::tempdir().unwrap();
        let (deliverer, calls) = deliverer(&dir, 100, false);
        deliverer.deliver(notification()).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(outbox_lines(&dir)[0]["failed"]["flaky"], "failure 0");
    }

    #[tokio::test]
    async fn an_unwritable_outbox_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (mut deliverer, _) = deliverer(&dir, 0, true);
        // A directory where the file should be: every append fails.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir_all(&blocked).unwrap();
        deliverer.outbox = Outbox::new(blocked);
        assert!(deliverer.deliver(notification()).await.is_err());
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let policy = RetryPolicy {
            attempts: 10,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(3),
        };
        let waits: Vec<u128> = (0..5).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 3000, 3000]);
    }
}
