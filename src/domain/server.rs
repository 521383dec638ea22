//! `[server]`: how the HTTP server protects itself from clients that hold connections open.

use std::time::Duration;

/// Connection limits and timeouts. The defaults hold against a flood of idle or dripping
/// connections on a default 1,024 file limit while real clients keep getting the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Time a client gets to send a complete request head once it has started one.
    pub header_read_timeout: Duration,
    /// Time a connection may stay open with no request in progress (before its first
    /// request, or between keep-alive requests).
    pub idle_timeout: Duration,
    /// Connections held at once, all clients together. Lowered at start to leave
    /// [`ServerSettings::reserved_fds`] file descriptors to the prober and the database.
    pub max_connections: usize,
    /// Connections held at once from one client address.
    pub max_connections_per_client: usize,
    /// Largest request body accepted; a larger one is answered 413.
    pub max_body_bytes: usize,
}

impl ServerSettings {
    /// File descriptors never given to HTTP connections: the prober's checks, the database
    /// and its readers, the log and the listener need them whatever the clients do. A
    /// quarter of the limit, at least 128.
    pub fn reserved_fds(fd_limit: u64) -> u64 {
        (fd_limit / 4).max(128)
    }

    /// The connection limit in force under a file descriptor limit of `fd_limit`.
    pub fn effective_max_connections(&self, fd_limit: u64) -> usize {
        let room = fd_limit.saturating_sub(Self::reserved_fds(fd_limit));
        self.max_connections
            .min(usize::try_from(room).unwrap_or(usize::MAX))
            .max(1)
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_connections_per_client: 256,
            max_body_bytes: 1 << 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_leave_descriptors_to_the_prober() {
        let settings = ServerSettings::default();
        for (fd_limit, expected) in [(1024, 768), (256, 128), (100, 1), (20_000, 4096), (0, 1)] {
            assert_eq!(
                settings.effective_max_connections(fd_limit),
                expected,
                "fd limit {fd_limit}"
            );
        }
    }
}
