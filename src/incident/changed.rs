//! "Public data changed": the cheap signal by which writers of public data (the operator API,
//! the maintenance and auto-draft jobs, the prober's state changes forwarded by the app) tell
//! the web layer's page cache to render again at once instead of at its next periodic refresh.
//!
//! Changes are numbered. A writer that must see its change on the public pages before it
//! answers (the operator API: an operator who reloads the page after `POST` expects it there)
//! waits until the cache says it rendered that number; everyone else just pokes. The renderer
//! reads the latest number *before* it starts reading the store, so "rendered up to n" means a
//! render began after change n was committed.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Cloneable handle: writers [`poke`](Self::poke), the page cache renders and
/// [`mark_applied`](Self::mark_applied).
#[derive(Clone, Debug)]
pub struct PublicChanged {
    requested: Arc<watch::Sender<u64>>,
    applied: Arc<watch::Sender<u64>>,
}

impl Default for PublicChanged {
    fn default() -> Self {
        PublicChanged {
            requested: Arc::new(watch::channel(0).0),
            applied: Arc::new(watch::channel(0).0),
        }
    }
}

impl PublicChanged {
    /// Says that public data changed (after the change is committed); returns its number.
    pub fn poke(&self) -> u64 {
        let mut number = 0;
        self.requested.send_modify(|n| {
            *n += 1;
            number = *n;
        });
        number
    }

    /// Pokes, then waits until the pages include the change, at most `within` (a render that
    /// takes longer, or a cache that is not running, must not hold a write's answer hostage).
    /// Returns whether the change is visible.
    pub async fn poke_and_wait(&self, within: Duration) -> bool {
        let number = self.poke();
        let mut applied = self.applied.subscribe();
        let seen = tokio::time::timeout(within, applied.wait_for(|n| *n >= number)).await;
        matches!(seen, Ok(Ok(_)))
    }

    /// For the renderer: the numbers of changes as they are poked.
    pub fn requests(&self) -> watch::Receiver<u64> {
        self.requested.subscribe()
    }

    /// For the renderer: every change up to `number` is now on the public pages.
    pub fn mark_applied(&self, number: u64) {
        self.applied.send_modify(|n| *n = (*n).max(number));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_writer_waits_for_the_render_of_its_change() {
        let public = PublicChanged::default();
        let mut requests = public.requests();
        let renderer = {
            let public = public.clone();
            tokio::spawn(async move {
                requests.changed().await.expect("sender alive");
                let number = *requests.borrow_and_update();
                public.mark_applied(number);
                number
            })
        };
        assert!(public.poke_and_wait(Duration::from_secs(5)).await);
        assert_eq!(renderer.await.expect("renderer"), 1);
    }

    #[tokio::test]
    async fn without_a_renderer_the_wait_gives_up() {
        let public = PublicChanged::default();
        assert!(!public.poke_and_wait(Duration::from_millis(10)).await);
        assert_eq!(public.poke(), 2, "changes keep their numbers");
        public.mark_applied(2);
        public.mark_applied(1);
        assert_eq!(*public.applied.borrow(), 2, "never goes backwards");
    }
}
