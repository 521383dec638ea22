//! `[server]`: how the HTTP server protects itself from clients that hold connections open,
//! and who a client is behind a reverse proxy.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Connection limits and timeouts, and the proxies trusted to name the client. The defaults hold against a flood of idle or dripping
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
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges).
    pub trusted_proxies: Vec<IpNet>,
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

    /// The client's address for the login throttle and the audit log: the TCP peer, unless
    /// the peer is a trusted proxy; then the right-most `X-Forwarded-For` hop that is not a
    /// trusted proxy. Hops left of it were written by the client itself and prove nothing.
    /// `forwarded_for` are the header's values in the order received.
    pub fn client_address<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // A hop that is not an address was not written by a proxy we trust: the nearest
            // trusted hop to its right is all we know.
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }

    /// Whether `ip` is one of `trusted_proxies` (whose connections carry many clients, so the
    /// per-client connection limit does not apply to them).
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(ip))
    }
}

/// `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim_matches('"');
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// An address range: an address and how many of its leading bits are the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    network: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// `10.0.0.0/8`, `fd00::/8`, or one address (`127.0.0.1`, `::1`). A range with host bits
    /// set (`10.0.0.1/8`) is refused: it is more likely a typo than a meant range.
    pub fn parse(text: &str) -> Result<IpNet, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network = address
            .parse::<IpAddr>()
            .map_err(|_| "expected an IP address or a CIDR range like 10.0.0.0/8".to_owned())?
            .to_canonical();
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= bits => p,
                _ => return Err(format!("the prefix length must be from 0 to {bits}")),
            },
        };
        let net = IpNet { network, prefix };
        if net.masked(network) != network {
            return Err(format!(
                "host bits are set; the range is {}/{prefix}",
                net.masked(network)
            ));
        }
        Ok(net)
    }

    /// Whether `ip` is in this range (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && self.masked(ip) == self.network
    }

    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        }
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
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
            trusted_proxies: Vec::new(),
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

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn behind(proxies: &[&str]) -> ServerSettings {
        ServerSettings {
            trusted_proxies: proxies.iter().map(|p| IpNet::parse(p).unwrap()).collect(),
            ..ServerSettings::default()
        }
    }

    #[test]
    fn ranges_parse_and_contain_what_they_should() {
        for (range, inside, outside) in [
            ("10.0.0.0/8", "10.255.1.2", "11.0.0.1"),
            ("127.0.0.1", "127.0.0.1", "127.0.0.2"),
            ("0.0.0.0/0", "203.0.113.9", "::1"),
            ("fd00::/8", "fd12::1", "fe80::1"),
            ("::1", "::1", "::2"),
            ("192.168.0.0/16", "::ffff:192.168.4.4", "192.169.0.1"),
        ] {
            let net = IpNet::parse(range).unwrap();
            assert!(net.contains(ip(inside)), "{range} contains {inside}");
            assert!(
                !net.contains(ip(outside)),
                "{range} does not contain {outside}"
            );
        }
        for bad in [
            "",
            "proxy.local",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.1/8",
            "10.0.0.0/x",
        ] {
            assert!(IpNet::parse(bad).is_err(), "{bad:?} refused");
        }
        assert_eq!(
            IpNet::parse("10.0.0.1/8").unwrap_err(),
            "host bits are set; the range is 10.0.0.0/8"
        );
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = behind(&["127.0.0.1", "10.0.0.0/8"]);
        for (peer, headers, client) in [
            // No trusted proxy in front: the peer, whatever the header says.
            ("203.0.113.5", vec!["198.51.100.1"], "203.0.113.5"),
            // One proxy: the address it saw.
            ("127.0.0.1", vec!["198.51.100.1"], "198.51.100.1"),
            // Two proxies: the right-most hop that is not ours; what the client put left of
            // it is ignored.
            (
                "127.0.0.1",
                vec!["6.6.6.6, 198.51.100.1, 10.1.2.3"],
                "198.51.100.1",
            ),
            (
                "127.0.0.1",
                vec!["6.6.6.6", "198.51.100.1", "10.1.2.3"],
                "198.51.100.1",
            ),
            (
                "::ffff:127.0.0.1",
                vec!["198.51.100.1:4711"],
                "198.51.100.1",
            ),
            ("127.0.0.1", vec!["[2001:db8::7]:443"], "2001:db8::7"),
            // A proxy without the header, or only proxies in it: the nearest we know.
            ("127.0.0.1", vec![], "127.0.0.1"),
            ("127.0.0.1", vec!["10.0.0.9"], "10.0.0.9"),
            // Garbage in place of an address: the trusted hop to its right.
            (
                "127.0.0.1",
                vec!["198.51.100.1, junk, 10.0.0.9"],
                "10.0.0.9",
            ),
            ("127.0.0.1", vec!["unknown"], "127.0.0.1"),
        ] {
            assert_eq!(
                proxies.client_address(ip(peer), headers.iter().copied()),
                ip(client),
                "peer {peer}, X-Forwarded-For {headers:?}"
            );
        }
        let none = behind(&[]);
        assert_eq!(
            none.client_address(ip("127.0.0.1"), ["198.51.100.1"]),
            ip("127.0.0.1"),
            "no trusted proxies: the header is never believed"
        );
    }
}
