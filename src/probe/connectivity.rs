//! The prober's own network check (`[service] connectivity_check`): when it fails, failed
//! observations are recorded as unknown, so a cut-off monitor reports no false outage.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long one connectivity verdict is reused; many probes failing at once ask only once.
const REUSE: Duration = Duration::from_secs(5);
const TIMEOUT: Duration = Duration::from_secs(5);

/// When the connectivity check last ran, and what it found.
type Verdict = (Instant, Result<(), String>);

#[derive(Clone)]
pub(super) struct Connectivity {
    url: String,
    client: reqwest::Client,
    last: Arc<Mutex<Option<Verdict>>>,
}

impl Connectivity {
    pub(super) fn new(url: String, client: reqwest::Client) -> Connectivity {
        Connectivity {
            url,
            client,
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// Ok if the prober reaches the connectivity URL (any HTTP answer counts).
    pub(super) async fn check(&self) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, verdict)) = &*last {
            if at.elapsed() < REUSE {
                return verdict.clone();
            }
        }
        let verdict = match self.client.get(&self.url).timeout(TIMEOUT).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("connectivity check {} failed: {e}", self.url)),
        };
        *last = Some((Instant::now(), verdict.clone()));
        verdict
    }
}
