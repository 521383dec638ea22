//! The delivery task: one worker per webhook with pending notifications, sending its queue
//! oldest first, retrying with exponential backoff, recording every attempt on the row.
//!
//! One worker per webhook keeps a slow or dead receiver from delaying the others, and a
//! webhook's queue is strictly in order (the next row waits while the head is in backoff),
//! so a chat never shows "up" before the "down" it ends.

use crate::domain::{Clock, Config, NotifySettings, Webhook};
use crate::store::{DeliveryAttempt, PendingNotification, Store};
use reqwest::header::CONTENT_TYPE;
use ring::hmac;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long sends in flight at shutdown may take to finish; an unfinished one stays pending
/// and is sent again after the restart (receivers deduplicate on `X-Beacon-Delivery`).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Pause after the outbox could not be read, so a broken database is not polled in a loop.
const READ_RETRY: Duration = Duration::from_secs(1);
/// Pause after a claim found the row taken by another claimer.
const CLAIM_RETRY: Duration = Duration::from_millis(100);
/// The part of a refusing receiver's answer kept in `last_error` (Slack explains itself
/// there: `invalid_payload`, `no_service`...).
const ERROR_BODY_CHARS: usize = 200;

/// What every worker shares.
pub(super) struct Shared {
    pub store: Store,
    pub config: watch::Receiver<Arc<Config>>,
    pub clock: Arc<dyn Clock>,
    pub client: reqwest::Client,
    pub stop: CancellationToken,
}

/// Starts a worker for each webhook with pending notifications (at start: rows left by the
/// previous run) and again whenever `wake` is notified (a new row, a worker done), until
/// `stop` is cancelled.
pub(super) async fn run(shared: Arc<Shared>, wake: Arc<Notify>) {
    let mut workers: HashMap<String, JoinHandle<()>> = HashMap::new();
    loop {
        workers.retain(|_, worker| !worker.is_finished());
        match shared.store.pending_webhooks().await {
            Ok(names) => {
                for name in names {
                    if let Entry::Vacant(slot) = workers.entry(name) {
                        let name = slot.key().clone();
                        slot.insert(tokio::spawn(worker(shared.clone(), name, wake.clone())));
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the notification outbox");
                if !pause(&shared.stop, READ_RETRY).await {
                    break;
                }
                continue;
            }
        }
        tokio::select! {
            _ = shared.stop.cancelled() => break,
            _ = wake.notified() => {}
        }
    }
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    for (webhook, mut worker) in workers {
        if tokio::time::timeout_at(deadline, &mut worker)
            .await
            .is_err()
        {
            worker.abort();
            tracing::warn!(%webhook, "notification still in flight at shutdown; it stays pending");
        }
    }
    tracing::info!("notification delivery stopped");
}

/// Sends `webhook`'s queue until it is empty or delivery stops, then wakes the dispatcher
/// so a row that arrived meanwhile gets a new worker.
async fn worker(shared: Arc<Shared>, webhook: String, wake: Arc<Notify>) {
    drain(&shared, &webhook).await;
    wake.notify_one();
}

async fn drain(shared: &Shared, webhook: &str) {
    while !shared.stop.is_cancelled() {
        let row = match shared.store.next_notification(webhook.to_owned()).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(%webhook, error = %e, "cannot read the notification outbox");
                pause(&shared.stop, READ_RETRY).await;
                return;
            }
        };
        let wait = row.next_attempt_at.millis() - shared.clock.now().millis();
        if wait > 0 {
            let wait = Duration::from_millis(u64::try_from(wait).unwrap_or(u64::MAX));
            if !pause(&shared.stop, wait).await {
                return;
            }
            continue;
        }
        // Claimed before it is sent: a node that lost the jobs lease is refused here, so it
        // never sends what the new holder sends.
        match shared.store.claim_notification(row.id).await {
            Ok(true) => {}
            Ok(false) => {
                // Delivered or locked by another claimer meanwhile: look again shortly.
                if !pause(&shared.stop, CLAIM_RETRY).await {
                    return;
                }
                continue;
            }
            Err(e) => {
                tracing::error!(%webhook, id = row.id, error = %e, "cannot claim the notification; not sent");
                pause(&shared.stop, READ_RETRY).await;
                return;
            }
        }
        // The configuration in force now: a reload may have changed the URL, the secret or
        // the timings since the row was written.
        let config = shared.config.borrow().clone();
        let attempt = match config.notify.webhooks.iter().find(|w| w.name == webhook) {
            Some(hook) => attempt(shared, &config.notify, hook, &row).await,
            None => DeliveryAttempt::Abandoned {
                reason: format!("webhook \"{webhook}\" is no longer in the configuration"),
            },
        };
        log(webhook, &row, &attempt);
        if let Err(e) = shared.store.record_delivery_attempt(row.id, attempt).await {
            tracing::error!(%webhook, id = row.id, error = %e, "delivery attempt not recorded");
            // The row still looks untried: back off as after a failure rather than resend
            // it at once while the database refuses writes.
            let backoff = config.notify.retry_delay(row.attempts.saturating_add(1));
            pause(&shared.stop, backoff.max(READ_RETRY)).await;
            return;
        }
    }
}

/// Sleeps for `wait`; false if delivery was stopped meanwhile.
async fn pause(stop: &CancellationToken, wait: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// One attempt, and what it means for the row: delivered, retried later, or failed for good.
async fn attempt(
    shared: &Shared,
    settings: &NotifySettings,
    hook: &Webhook,
    row: &PendingNotification,
) -> DeliveryAttempt {
    let result = send(&shared.client, hook, row, settings.timeout).await;
    let at = shared.clock.now();
    let attempts = row.attempts.saturating_add(1);
    match result {
        Ok(()) => DeliveryAttempt::Delivered { at },
        Err(error) if attempts >= settings.max_attempts => DeliveryAttempt::Failed { at, error },
        Err(error) => {
            let delay = settings.retry_delay(attempts).as_millis();
            DeliveryAttempt::Retry {
                at,
                error,
                next_at: at.plus_ms(i64::try_from(delay).unwrap_or(i64::MAX)),
            }
        }
    }
}

/// POSTs the stored body; `Ok` on a 2xx answer, else a short reason for `last_error`.
async fn send(
    client: &reqwest::Client,
    hook: &Webhook,
    row: &PendingNotification,
    timeout: Duration,
) -> Result<(), String> {
    let mut request = client
        .post(&hook.url)
        .timeout(timeout)
        .header(CONTENT_TYPE, "application/json")
        .header("X-Beacon-Event", &row.event)
        .header("X-Beacon-Delivery", row.id.to_string())
        .body(row.body.clone());
    if let Some(secret) = &hook.secret {
        request = request.header(
            "X-Beacon-Signature",
            signature(secret.expose().as_bytes(), row.body.as_bytes()),
        );
    }
    let response = request.send().await.map_err(|e| describe(e, timeout))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let mut reason = format!("HTTP {}", status.as_u16());
    let text = body_start(response).await;
    if !text.is_empty() {
        reason.push_str(": ");
        reason.push_str(&text);
    }
    Err(reason)
}

/// The first characters of an answer's body, read no further than needed (a refusing
/// receiver's body may be anything, of any size).
async fn body_start(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BODY_CHARS * 4 {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let line = text.trim().lines().next().unwrap_or_default();
    line.chars().take(ERROR_BODY_CHARS).collect()
}

/// `sha256=` and the lowercase hex HMAC-SHA256 of `body` under `secret`, as GitHub signs its
/// webhooks, so existing receiver code verifies Beacon's unchanged.
pub(super) fn signature(secret: &[u8], body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, body);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for byte in tag.as_ref() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// A short reason without the URL (a webhook URL may be a credential).
fn describe(error: reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("timeout after {}", humantime::format_duration(timeout));
    }
    let prefix = if error.is_connect() {
        "connect"
    } else {
        "request"
    };
    let error = error.without_url();
    let mut cause: &dyn std::error::Error = &error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    format!("{prefix}: {cause}")
}

fn log(webhook: &str, row: &PendingNotification, attempt: &DeliveryAttempt) {
    let attempts = row.attempts.saturating_add(1);
    match attempt {
        DeliveryAttempt::Delivered { .. } => {
            tracing::info!(%webhook, id = row.id, event = %row.event, attempts, "notification delivered")
        }
        DeliveryAttempt::Retry { error, next_at, .. } => {
            tracing::warn!(%webhook, id = row.id, attempts, %error, retry_at = %next_at, "notification not delivered; will retry")
        }
        DeliveryAttempt::Failed { error, .. } => {
            tracing::error!(%webhook, id = row.id, attempts, %error, "notification failed; no more attempts")
        }
        DeliveryAttempt::Abandoned { reason } => {
            tracing::warn!(%webhook, id = row.id, %reason, "notification abandoned")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn signature_matches_rfc_4231_test_case_2() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
