//! A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat, ...):
//! `POST {"text": ...}` with mrkdwn links.

use std::time::Duration;

use futures_util::future::BoxFuture;
use url::Url;

use super::{AttemptError, Target};
use crate::relay::notification::Notification;

pub struct SlackWebhook {
    client: reqwest::Client,
    url: Url,
}

impl SlackWebhook {
    pub fn new(url: Url, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(SlackWebhook { client, url })
    }
}

impl Target for SlackWebhook {
    fn name(&self) -> &str {
        "slack"
    }

    fn send<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), AttemptError>> {
        Box::pin(async move {
            let body = serde_json::json!({ "text": notification.text() });
            let response = self
                .client
                .post(self.url.clone())
                .json(&body)
                .send()
                .await
                .map_err(|e| AttemptError {
                    // The URL holds the webhook's secret: keep it out of logs.
                    message: format!("no answer: {}", e.without_url()),
                    retryable: true,
                })?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let body: String = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            Err(AttemptError {
                message: format!("answered {status}: {body}"),
                retryable: status.is_server_error() || status.as_u16() == 429,
            })
        })
    }
}
