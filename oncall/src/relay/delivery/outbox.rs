//! The append-only outbox: one JSON notification per line, each line written
//! whole and synced before the webhook is answered.

use std::path::PathBuf;

use futures_util::future::BoxFuture;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::{AttemptError, Target};
use crate::relay::notification::Notification;

pub struct Outbox {
    path: PathBuf,
    /// Serialises appends so concurrent notifications never interleave lines.
    lock: Mutex<()>,
}

impl Outbox {
    pub const NAME: &'static str = "outbox";

    pub fn new(path: PathBuf) -> Self {
        Outbox {
            path,
            lock: Mutex::new(()),
        }
    }

    pub async fn append(&self, notification: &Notification) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(notification)?;
        line.push(b'\n');
        let _guard = self.lock.lock().await;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await?;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await?;
        file.write_all(&line).await?;
        file.sync_data().await
    }
}

impl Target for Outbox {
    fn name(&self) -> &str {
        Self::NAME
    }

    /// A failed write (disk full, a folder in the way) is worth another try.
    fn send<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), AttemptError>> {
        Box::pin(async move {
            self.append(notification).await.map_err(|e| AttemptError {
                message: format!("writing {}: {e}", self.path.display()),
                retryable: true,
            })
        })
    }
}
