//! The node's probe set, from the server: fetched at start, then polled every
//! [`POLL_EVERY`] with `If-None-Match` (a 304 means unchanged), so the server's reloads
//! reach the node within a few seconds. The last set the server gave is kept in the spool,
//! so a node (re)started while the server is down goes on probing what it last knew.

use super::spool::Spool;
use super::uploader::{server_error, Backoff};
use crate::domain::remote::ProbeAssignment;
use crate::domain::{ProbeKey, ProbeSpec, ProbeTarget};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How often a node that has its assignment asks whether it changed.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One answer of the assignment endpoint.
#[derive(Debug, PartialEq)]
pub enum Fetched {
    /// 304: what the node has is current.
    Unchanged,
    /// 200: a (possibly) new set, with its ETag.
    New {
        etag: Option<String>,
        assignment: ProbeAssignment,
    },
}

/// Why a fetch gave no assignment; the text is what the log says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// The probes to run from an assignment, keyed as their history is. Push probes are left
/// out: their heartbeats arrive at the server, a node has nothing to check.
pub fn wanted(assignment: &ProbeAssignment) -> Vec<(ProbeKey, ProbeSpec)> {
    assignment
        .probes
        .iter()
        .filter(|p| !matches!(p.spec.target, ProbeTarget::Push { .. }))
        .map(|p| {
            (
                ProbeKey {
                    channel: p.channel.clone(),
                    probe: p.spec.name.clone(),
                },
                p.spec.clone(),
            )
        })
        .collect()
}

/// Reads an answer of the endpoint: a 304, or a 200 whose body is this location's
/// assignment; anything else is an error naming what the server said.
pub fn read_answer(
    status: u16,
    etag: Option<String>,
    body: &str,
    location: &str,
) -> Result<Fetched, FetchError> {
    match status {
        304 => Ok(Fetched::Unchanged),
        200 => {
            let assignment: ProbeAssignment = serde_json::from_str(body)
                .map_err(|e| FetchError(format!("the server's assignment does not parse: {e}")))?;
            if assignment.location != location {
                return Err(FetchError(format!(
                    "the server sent the assignment of location {:?}, not {location:?}",
                    assignment.location
                )));
            }
            Ok(Fetched::New { etag, assignment })
        }
        _ => {
            let message = server_error(body);
            Err(FetchError(if message.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {message}")
            }))
        }
    }
}

/// Polls the server and publishes each new assignment on `sender`.
pub struct Poller {
    pub client: reqwest::Client,
    /// `{server}/api/v1/locations/{id}/probes`.
    pub url: url::Url,
    pub token: String,
    pub location: String,
    pub spool: Arc<Mutex<Spool>>,
    /// The ETag of the assignment in force (from the spool at start).
    pub etag: Option<String>,
    /// How many probes the node runs now, for the log.
    pub running: usize,
    pub sender: watch::Sender<Option<Arc<ProbeAssignment>>>,
}

impl Poller {
    /// Fetches until `cancel`: with a backoff from 1 s to 30 s until the first success, then
    /// every [`POLL_EVERY`]. One log line per change between fetching and failing.
    pub async fn run(mut self, cancel: CancellationToken) {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let mut fetched_once = false;
        let mut failing: Option<String> = None;
        loop {
            let result = tokio::select! {
                _ = cancel.cancelled() => return,
                result = self.fetch() => result,
            };
            let wait = match result {
                Ok(fetched) => {
                    if failing.take().is_some() || !fetched_once {
                        tracing::info!("probe assignment: fetched from the server");
                    }
                    fetched_once = true;
                    if let Fetched::New { etag, assignment } = fetched {
                        self.publish(etag, assignment).await;
                    }
                    POLL_EVERY
                }
                Err(FetchError(why)) => {
                    // One line when fetching starts failing, with the first reason.
                    if failing.is_none() {
                        let keeping = match self.running {
                            0 => "no probes to run until it answers".to_owned(),
                            n => format!("keeping the last known {n} probes"),
                        };
                        tracing::warn!(
                            "probe assignment: cannot fetch ({why}); {keeping}, retrying"
                        );
                        failing = Some(why);
                    }
                    if fetched_once {
                        POLL_EVERY
                    } else {
                        backoff.fail()
                    }
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn fetch(&self) -> Result<Fetched, FetchError> {
        let mut request = self
            .client
            .get(self.url.clone())
            .bearer_auth(&self.token)
            .timeout(REQUEST_TIMEOUT);
        if let Some(etag) = &self.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let response = request
            .send()
            .await
            .map_err(|e| FetchError(crate::probe::reason::describe_request_error(&e)))?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .text()
            .await
            .map_err(|e| FetchError(crate::probe::reason::describe_request_error(&e)))?;
        read_answer(status, etag, &body, &self.location)
    }

    /// Saves a new assignment in the spool and hands it to the node (unless it is the set
    /// already running, as after a restart whose saved ETag the server no longer matches).
    async fn publish(&mut self, etag: Option<String>, assignment: ProbeAssignment) {
        self.etag = etag.clone();
        let unchanged = self
            .sender
            .borrow()
            .as_deref()
            .is_some_and(|current| *current == assignment);
        let spool = self.spool.clone();
        let saved = assignment.clone();
        let stored = tokio::task::spawn_blocking(move || {
            let mut spool = spool.lock().unwrap_or_else(|p| p.into_inner());
            spool.save_assignment(etag.as_deref(), &saved)
        })
        .await;
        match stored {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot save the probe assignment in the spool")
            }
            Err(e) => tracing::warn!(error = %e, "cannot save the probe assignment in the spool"),
        }
        if !unchanged {
            self.running = wanted(&assignment).len();
            self.sender.send_replace(Some(Arc::new(assignment)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSIGNMENT: &str = r#"{"location": "eu", "probes": [
        {"channel": "web", "spec": {"name": "home", "target": {"kind": "tcp", "host": "127.0.0.1", "port": 9, "send": null, "expect": null},
         "schedule": {"every_ms": 1000}, "timeout_ms": 500, "thresholds": {"failure": 2, "success": 2},
         "conditions": [], "degraded_if": [], "locations": ["eu"], "quorum": 1}},
        {"channel": "jobs", "spec": {"name": "worker", "target": {"kind": "push", "grace_ms": 1000},
         "schedule": {"every_ms": 60000}, "timeout_ms": 500, "thresholds": {"failure": 1, "success": 1},
         "conditions": [], "degraded_if": [], "locations": ["eu"], "quorum": 1}}
    ]}"#;

    #[test]
    fn answers_are_read_as_unchanged_new_or_an_error_naming_the_cause() {
        assert_eq!(read_answer(304, None, "", "eu"), Ok(Fetched::Unchanged));
        let Ok(Fetched::New { etag, assignment }) =
            read_answer(200, Some("\"a1\"".into()), ASSIGNMENT, "eu")
        else {
            panic!("a valid assignment");
        };
        assert_eq!(etag.as_deref(), Some("\"a1\""));
        assert_eq!(assignment.probes.len(), 2);
        let errors = [
            (200, ASSIGNMENT, "us", "location \"eu\", not \"us\""),
            (200, "{", "eu", "does not parse"),
            (
                403,
                r#"{"error": "token of location us"}"#,
                "eu",
                "HTTP 403: token of location us",
            ),
            (503, "", "eu", "HTTP 503"),
            (404, "not found", "eu", "HTTP 404: not found"),
        ];
        for (status, body, location, want) in errors {
            let got = read_answer(status, None, body, location).expect_err("an error");
            assert!(got.0.contains(want), "{status}: {got}");
        }
    }

    #[test]
    fn push_probes_are_left_to_the_server() {
        let Ok(Fetched::New { assignment, .. }) = read_answer(200, None, ASSIGNMENT, "eu") else {
            panic!("a valid assignment");
        };
        let keys: Vec<String> = wanted(&assignment)
            .into_iter()
            .map(|(key, _)| key.to_string())
            .collect();
        assert_eq!(keys, vec!["web/home"]);
    }
}
