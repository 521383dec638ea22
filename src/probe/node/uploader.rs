//! Sends the spool to the server: oldest first, in batches of up to [`BATCH_MAX`], at least
//! every second while something waits, an empty batch every [`HEARTBEAT`] as proof of life.
//! What the server acknowledges is deleted; what it refuses for good is moved aside; on a
//! connection error or a 5xx the same observations are sent again after a backoff.
//!
//! The decisions (when to send, what an answer means, when the link changed) are pure
//! functions of their inputs, with the time passed in, so they are table-tested below.

use super::spool::Spool;
use crate::domain::remote::{BatchAccepted, ObservationBatch, ProberReport};
use crate::domain::{Clock, Observation};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Observations per batch at most.
pub const BATCH_MAX: usize = 1_000;
/// While observations wait, a batch goes at least this often.
pub const SEND_EVERY: Duration = Duration::from_secs(1);
/// With nothing to send, an empty batch goes this often, so the server sees the node alive.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// How long one POST may take before it counts as a connection failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Exponential backoff: `base`, doubling on every failure up to `max`; reset on success.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            base,
            max,
            next: base,
        }
    }

    /// The wait after one more failure.
    pub fn fail(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    pub fn reset(&mut self) {
        self.next = self.base;
    }
}

/// When the next batch is due, from what waits and when the last one went.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    /// When the last batch was sent (answered, whatever the answer); `None` before the first.
    pub last_sent: Option<Instant>,
    /// Not before this, after a failure.
    pub retry_at: Option<Instant>,
}

impl Cadence {
    /// The instant the next batch is due, with `backlog` observations waiting.
    pub fn due(&self, now: Instant, backlog: u64) -> Instant {
        let regular = match self.last_sent {
            None => now,
            Some(_) if backlog >= BATCH_MAX as u64 => now,
            Some(last) if backlog > 0 => last + SEND_EVERY,
            Some(last) => last + HEARTBEAT,
        };
        // After a failure the same batch goes again at the retry time, heartbeat or not.
        self.retry_at.unwrap_or(regular)
    }
}

/// What an answer to a batch means for the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: the server has them; delete them.
    Delivered,
    /// Try the same batch again later: the server or the link is in trouble (5xx, 408, 429),
    /// or the node's token is not accepted yet (401), which says nothing of the batch.
    Retry(String),
    /// Refused for good (any other 4xx): move the batch aside, go on with the rest.
    Refused(String),
}

/// The verdict of an HTTP status, with the server's error message (if any) for the log.
pub fn classify(status: u16, message: &str) -> Verdict {
    let why = if message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {message}")
    };
    match status {
        200..=299 => Verdict::Delivered,
        401 | 408 | 429 => Verdict::Retry(why),
        400..=499 => Verdict::Refused(why),
        _ => Verdict::Retry(why),
    }
}

/// The link to the server as the log tells it: one line per change, never one per attempt.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Link {
    /// Not tried yet.
    #[default]
    Untried,
    Reachable,
    Unreachable,
}

/// A change of the link worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkChange {
    /// The first answer since start.
    Reached,
    /// Answers again after failures.
    Restored,
    /// Stopped answering (or answers with errors to retry), with the first reason.
    Lost(String),
}

impl Link {
    /// Records the result of one attempt: `Ok` when the server answered with a verdict that
    /// is not a retry, `Err(reason)` otherwise.
    pub fn record(&mut self, attempt: Result<(), String>) -> Option<LinkChange> {
        let (next, change) = match (&self, attempt) {
            (Link::Untried, Ok(())) => (Link::Reachable, Some(LinkChange::Reached)),
            (Link::Unreachable, Ok(())) => (Link::Reachable, Some(LinkChange::Restored)),
            (Link::Reachable, Ok(())) => (Link::Reachable, None),
            (Link::Unreachable, Err(_)) => (Link::Unreachable, None),
            (_, Err(why)) => (Link::Unreachable, Some(LinkChange::Lost(why))),
        };
        *self = next;
        change
    }
}

/// What the uploader needs.
pub struct Uploader {
    pub client: reqwest::Client,
    /// `{server}/api/v1/observations`.
    pub url: url::Url,
    pub token: String,
    pub spool: Arc<Mutex<Spool>>,
    /// Poked when observations are spooled, so a full batch goes at once.
    pub spooled: Arc<Notify>,
    pub clock: Arc<dyn Clock>,
}

/// The spool's state for one batch.
struct Taken {
    batch: Vec<Observation>,
    backlog: u64,
    dropped: u64,
}

impl Uploader {
    /// Sends until `cancel`; a batch in flight then is abandoned (still spooled, so it is
    /// sent again by the next run, and the server ignores what it already has).
    pub async fn run(self, cancel: CancellationToken) {
        let mut cadence = Cadence {
            last_sent: None,
            retry_at: None,
        };
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(15));
        let mut link = Link::default();
        let mut last_refusal: Option<String> = None;
        loop {
            let backlog = self.with_spool(|s| Ok(s.backlog())).await.unwrap_or(0);
            let due = cadence.due(Instant::now(), backlog);
            if due > Instant::now() {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep_until(due) => {}
                    _ = self.spooled.notified() => {}
                }
                continue;
            }
            let taken = match self.take().await {
                Ok(taken) => taken,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the spool");
                    cadence.retry_at = Some(Instant::now() + backoff.fail());
                    continue;
                }
            };
            let verdict = tokio::select! {
                _ = cancel.cancelled() => return,
                verdict = self.send(&taken) => verdict,
            };
            let now = Instant::now();
            let attempt = match &verdict {
                Verdict::Retry(why) => Err(why.clone()),
                _ => Ok(()),
            };
            match link.record(attempt) {
                Some(LinkChange::Lost(why)) => {
                    tracing::warn!(
                        backlog = taken.backlog + taken.batch.len() as u64,
                        "server unreachable: {why}; spooling"
                    )
                }
                Some(LinkChange::Restored) => tracing::info!(
                    "server reachable again; sending {} spooled observations",
                    taken.backlog + taken.batch.len() as u64
                ),
                Some(LinkChange::Reached) => tracing::info!(
                    "server reachable; sending {} spooled observations",
                    taken.backlog + taken.batch.len() as u64
                ),
                None => {}
            }
            match verdict {
                Verdict::Delivered => {
                    if let Err(e) = self.settle(taken.batch, None).await {
                        tracing::error!(error = %e, "cannot delete acknowledged observations from the spool; they will be sent again");
                    }
                    last_refusal = None;
                    backoff.reset();
                    cadence = Cadence {
                        last_sent: Some(now),
                        retry_at: None,
                    };
                }
                Verdict::Refused(why) => {
                    let count = taken.batch.len();
                    if count > 0 || last_refusal.as_deref() != Some(why.as_str()) {
                        tracing::error!(
                            refused = count,
                            "server refused a batch of {count} observations for good ({why}); moved aside to the spool's rejected table"
                        );
                    }
                    if let Err(e) = self.settle(taken.batch, Some(why.clone())).await {
                        tracing::error!(error = %e, "cannot move refused observations aside");
                    }
                    last_refusal = Some(why);
                    backoff.reset();
                    cadence = Cadence {
                        last_sent: Some(now),
                        retry_at: None,
                    };
                }
                Verdict::Retry(_) => {
                    cadence.retry_at = Some(now + backoff.fail());
                }
            }
        }
    }

    /// The oldest batch and the spool's counters after it.
    async fn take(&self) -> Result<Taken, super::spool::SpoolError> {
        self.with_spool(|s| {
            let batch = s.oldest(BATCH_MAX)?;
            Ok(Taken {
                backlog: s.backlog().saturating_sub(batch.len() as u64),
                dropped: s.dropped()?,
                batch,
            })
        })
        .await
    }

    /// Deletes a delivered batch, or moves a refused one aside with the server's reason.
    async fn settle(
        &self,
        batch: Vec<Observation>,
        refused: Option<String>,
    ) -> Result<(), super::spool::SpoolError> {
        let now = self.clock.now();
        self.with_spool(move |s| match &refused {
            None => s.ack(&batch),
            Some(why) => s.reject(&batch, why, now),
        })
        .await
    }

    async fn send(&self, taken: &Taken) -> Verdict {
        let batch = ObservationBatch {
            observations: taken.batch.clone(),
            prober: ProberReport {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                sent_at: self.clock.now(),
                spool_backlog: taken.backlog,
                spool_dropped: taken.dropped,
            },
        };
        let response = self
            .client
            .post(self.url.clone())
            .bearer_auth(&self.token)
            .timeout(REQUEST_TIMEOUT)
            .json(&batch)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return Verdict::Retry(crate::probe::reason::describe_request_error(&e)),
        };
        let status = response.status().as_u16();
        let body = match response.text().await {
            Ok(body) => body,
            Err(e) => return Verdict::Retry(crate::probe::reason::describe_request_error(&e)),
        };
        let verdict = classify(
            status,
            &if (200..300).contains(&status) {
                String::new()
            } else {
                server_error(&body)
            },
        );
        if verdict == Verdict::Delivered {
            match serde_json::from_str::<BatchAccepted>(&body) {
                Ok(accepted) => tracing::debug!(
                    accepted = accepted.accepted,
                    duplicates = accepted.duplicates,
                    "batch delivered"
                ),
                Err(e) => {
                    tracing::debug!(error = %e, "batch delivered; the answer is not the expected JSON")
                }
            }
        }
        verdict
    }

    /// Runs `f` on the spool off the async threads (SQLite blocks).
    async fn with_spool<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Spool) -> Result<T, super::spool::SpoolError> + Send + 'static,
    ) -> Result<T, super::spool::SpoolError> {
        let spool = self.spool.clone();
        match tokio::task::spawn_blocking(move || {
            let mut spool = spool
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut spool)
        })
        .await
        {
            Ok(result) => result,
            Err(e) => Err(super::spool::SpoolError::Task(e.to_string())),
        }
    }
}

/// The `error` of the server's JSON error, or the start of whatever it sent.
pub fn server_error(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| body.trim().chars().take(200).collect())
}

#[cfg(test)]
#[path = "uploader_tests.rs"]
mod tests;
