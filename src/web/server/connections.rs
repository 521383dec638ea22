//! The connections the server holds, per client address, and which one gives way when the
//! server is full.
//!
//! Why: an idle or dripping connection costs the client nothing and the server a file
//! descriptor. Without limits, a thousand of them exhaust the process's descriptors, the page
//! stops answering and the prober cannot open sockets. Every connection is registered here with
//! its phase; at capacity a newcomer takes the place of the oldest connection that has no
//! request in progress, from the client holding the most connections, so a flood from a few
//! addresses cannot keep a new client out, and a request being answered is never cut.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Where a connection is in its life, for the timeouts and for eviction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Phase {
    /// No request in progress and no byte of the next one yet.
    Idle = 0,
    /// Some bytes of a request head arrived; the head is not complete.
    Head = 1,
    /// A request is being answered.
    Busy = 2,
    /// Chosen to give way to a newcomer; closing.
    Evicted = 3,
}

impl Phase {
    fn from_u8(value: u8) -> Phase {
        match value {
            0 => Phase::Idle,
            1 => Phase::Head,
            2 => Phase::Busy,
            _ => Phase::Evicted,
        }
    }
}

/// One held connection, shared by its task, its I/O wrapper and the registry.
#[derive(Debug)]
pub(super) struct Connection {
    id: u64,
    phase: AtomicU8,
    /// When the current phase began, in milliseconds since the registry's start.
    since_ms: AtomicU64,
    /// Woken at every change of phase (including eviction), so the connection's task looks at
    /// its deadline again.
    pub changed: Notify,
    epoch: Instant,
}

impl Connection {
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    fn enter(&self, from: &[Phase], to: Phase) -> bool {
        let mut current = self.phase.load(Ordering::Acquire);
        loop {
            if !from.contains(&Phase::from_u8(current)) {
                return false;
            }
            match self.phase.compare_exchange_weak(
                current,
                to as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.since_ms.store(self.now_ms(), Ordering::Release);
                    self.changed.notify_one();
                    return true;
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Bytes arrived: an idle connection starts a request head (and its header timeout).
    pub fn bytes_arrived(&self) {
        if self.phase() == Phase::Idle {
            self.enter(&[Phase::Idle], Phase::Head);
        }
    }

    /// A complete request head arrived: the connection is busy until it is answered.
    pub fn request_started(&self) {
        self.enter(&[Phase::Idle, Phase::Head], Phase::Busy);
    }

    /// The answer is written: idle again, until the next request.
    pub fn request_finished(&self) {
        self.enter(&[Phase::Busy], Phase::Idle);
    }

    /// When this connection must close if nothing changes: `None` while busy.
    pub fn deadline(
        &self,
        header_read_timeout: Duration,
        idle_timeout: Duration,
    ) -> Option<Instant> {
        let since = self.epoch + Duration::from_millis(self.since_ms.load(Ordering::Acquire));
        match self.phase() {
            Phase::Idle => Some(since + idle_timeout),
            Phase::Head => Some(since + header_read_timeout),
            Phase::Busy => None,
            Phase::Evicted => Some(since),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn since_ms(&self) -> u64 {
        self.since_ms.load(Ordering::Acquire)
    }
}

/// Why a new connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// This client address already holds its share.
    ClientLimit,
    /// The server is full and no other client holds more than this one.
    Full,
}

/// The registry of held connections. Cheap to share; one short lock per accept and close.
#[derive(Debug)]
pub(super) struct Connections {
    stats: Arc<super::ServerStats>,
    max_total: usize,
    max_per_client: usize,
    epoch: Instant,
    next_id: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    total: usize,
    by_client: HashMap<IpAddr, Vec<Arc<Connection>>>,
}

impl Inner {
    /// Removes connection `id` of `client`, if it is still registered.
    fn forget(&mut self, client: IpAddr, id: u64) {
        if let Some(list) = self.by_client.get_mut(&client) {
            if let Some(i) = list.iter().position(|c| c.id == id) {
                list.swap_remove(i);
                self.total -= 1;
            }
            if list.is_empty() {
                self.by_client.remove(&client);
            }
        }
    }
}

/// A held connection's place in the registry; dropping it frees the place.
#[derive(Debug)]
pub(super) struct Held {
    registry: Arc<Connections>,
    client: IpAddr,
    pub connection: Arc<Connection>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut inner = self.registry.lock();
        inner.forget(self.client, self.connection.id);
        self.registry.stats.set_held(inner.total);
    }
}

impl Connections {
    pub fn new(
        max_total: usize,
        max_per_client: usize,
        stats: Arc<super::ServerStats>,
    ) -> Arc<Connections> {
        Arc::new(Connections {
            stats,
            max_total: max_total.max(1),
            max_per_client: max_per_client.max(1),
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            inner: Mutex::default(),
        })
    }

    /// Takes a new connection from `client`, evicting another one if the server is full. A
    /// `shared` client (a trusted proxy, speaking for many) has no per-client limit.
    pub fn admit(self: &Arc<Self>, client: IpAddr, shared: bool) -> Result<Held, Refusal> {
        let mut inner = self.lock();
        let mine = inner.by_client.get(&client).map_or(0, Vec::len);
        if !shared && mine >= self.max_per_client {
            return Err(Refusal::ClientLimit);
        }
        if inner.total >= self.max_total {
            let (victim_client, victim) =
                choose_victim(&inner, client, mine).ok_or(Refusal::Full)?;
            victim.enter(&[Phase::Idle, Phase::Head], Phase::Evicted);
            // Its place is free at once; its task closes the socket when it next runs.
            inner.forget(victim_client, victim.id);
        }
        let connection = Arc::new(Connection {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            phase: AtomicU8::new(Phase::Idle as u8),
            since_ms: AtomicU64::new(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(0)),
            changed: Notify::new(),
            epoch: self.epoch,
        });
        inner
            .by_client
            .entry(client)
            .or_default()
            .push(connection.clone());
        inner.total += 1;
        self.stats.set_held(inner.total);
        Ok(Held {
            registry: self.clone(),
            client,
            connection,
        })
    }

    /// Connections held now (an evicted one no longer counts, even before its task closed it).
    pub fn held(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the counts half-updated (each update
        // is one statement pair), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The connection that gives way to a newcomer from `client` (holding `mine`): the oldest
/// one with no request in progress, of the client holding the most connections, provided that
/// client holds more than the newcomer's would after admission. Busy connections never give way.
fn choose_victim(inner: &Inner, client: IpAddr, mine: usize) -> Option<(IpAddr, Arc<Connection>)> {
    inner
        .by_client
        .iter()
        .filter(|(address, list)| **address != client && list.len() > mine)
        .flat_map(|(address, list)| {
            list.iter()
                .filter(|c| matches!(c.phase(), Phase::Idle | Phase::Head))
                .map(move |c| {
                    let rank = (list.len(), std::cmp::Reverse((c.since_ms(), c.id)));
                    (rank, *address, c)
                })
        })
        .max_by_key(|(rank, _, _)| *rank)
        .map(|(_, address, c)| (address, c.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
    }

    #[tokio::test]
    async fn a_client_gets_its_share_and_no_more() {
        let registry = Connections::new(10, 2, Arc::default());
        let _a = registry.admit(ip(2), false).expect("first");
        let _b = registry.admit(ip(2), false).expect("second");
        assert_eq!(
            registry.admit(ip(2), false).unwrap_err(),
            Refusal::ClientLimit
        );
        assert!(
            registry.admit(ip(3), false).is_ok(),
            "another client is not affected"
        );
    }

    #[tokio::test]
    async fn a_newcomer_evicts_the_oldest_idle_connection_of_the_biggest_client() {
        let registry = Connections::new(4, 10, Arc::default());
        let flood: Vec<Held> = (0..3)
            .map(|_| registry.admit(ip(2), false).expect("flood"))
            .collect();
        let other = registry.admit(ip(3), false).expect("other");
        flood[0].connection.request_started(); // busy: never evicted
        let newcomer = registry
            .admit(ip(1), false)
            .expect("a new client is let in");
        assert_eq!(flood[0].connection.phase(), Phase::Busy);
        assert_eq!(
            flood[1].connection.phase(),
            Phase::Evicted,
            "oldest idle of the biggest client"
        );
        assert_eq!(flood[2].connection.phase(), Phase::Idle);
        assert_eq!(other.connection.phase(), Phase::Idle);
        assert_eq!(newcomer.connection.phase(), Phase::Idle);
    }

    #[tokio::test]
    async fn a_trusted_proxy_has_no_per_client_limit() {
        let registry = Connections::new(10, 2, Arc::default());
        let _held: Vec<Held> = (0..5)
            .map(|_| registry.admit(ip(9), true).expect("proxy"))
            .collect();
        assert_eq!(registry.held(), 5);
    }

    #[tokio::test]
    async fn the_biggest_client_cannot_evict_others() {
        let registry = Connections::new(3, 10, Arc::default());
        let _flood: Vec<Held> = (0..2)
            .map(|_| registry.admit(ip(2), false).expect("flood"))
            .collect();
        let _other = registry.admit(ip(3), false).expect("other");
        assert_eq!(registry.admit(ip(2), false).unwrap_err(), Refusal::Full);
    }

    #[tokio::test]
    async fn busy_connections_never_give_way() {
        let registry = Connections::new(2, 10, Arc::default());
        let flood: Vec<Held> = (0..2)
            .map(|_| registry.admit(ip(2), false).expect("flood"))
            .collect();
        for held in &flood {
            held.connection.request_started();
        }
        assert_eq!(registry.admit(ip(1), false).unwrap_err(), Refusal::Full);
    }

    #[tokio::test]
    async fn closing_frees_the_place() {
        let registry = Connections::new(1, 1, Arc::default());
        let held = registry.admit(ip(2), false).expect("first");
        assert_eq!(registry.held(), 1);
        drop(held);
        assert_eq!(registry.held(), 0);
        assert!(registry.admit(ip(2), false).is_ok());
    }

    #[tokio::test]
    async fn timeouts_follow_the_phase() {
        let registry = Connections::new(1, 1, Arc::default());
        let held = registry.admit(ip(2), false).expect("first");
        let c = &held.connection;
        let header = Duration::from_secs(10);
        let idle = Duration::from_secs(60);
        let idle_deadline = c.deadline(header, idle).expect("idle has a deadline");
        c.bytes_arrived();
        assert_eq!(c.phase(), Phase::Head);
        let head_deadline = c.deadline(header, idle).expect("head has a deadline");
        assert!(
            head_deadline < idle_deadline,
            "a started head gets the shorter timeout"
        );
        c.request_started();
        assert_eq!(c.deadline(header, idle), None, "busy: no timeout");
        c.request_finished();
        assert_eq!(c.phase(), Phase::Idle);
        c.bytes_arrived();
        c.bytes_arrived();
        assert_eq!(c.phase(), Phase::Head);
    }
}
