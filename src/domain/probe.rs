//! What a probe is: its target (one variant per kind), its schedule and its thresholds.

use crate::condition::Condition;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// One scheduled check of a channel. Serializable so the server can hand a location's probes
/// to its prober node (`GET /api/v1/locations/{id}/probes`); conditions travel as their text
/// and durations as milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeSpec {
    /// Stable key of this probe's history within its channel.
    pub name: String,
    pub target: ProbeTarget,
    pub schedule: Schedule,
    /// The whole check must finish within this; never longer than the interval.
    #[serde(with = "super::remote::duration_ms", rename = "timeout_ms")]
    pub timeout: Duration,
    pub thresholds: Thresholds,
    /// All must hold for a success; empty means the kind's built-in rule (2xx, connected...).
    pub conditions: Vec<Condition>,
    /// A success matching any of these is degraded (e.g. `[RESPONSE_TIME] > 800`).
    pub degraded_if: Vec<Condition>,
    /// The locations it runs from (never empty; ids of `Config::locations`).
    pub locations: Vec<String>,
    /// How many locations must agree (sla-rules section 3 rule 10), 1 to `locations.len()`.
    pub quorum: usize,
}

impl ProbeSpec {
    /// Whether its state is decided by several locations (otherwise its one location's
    /// timeline is its timeline).
    pub fn is_multi_location(&self) -> bool {
        self.locations.len() > 1
    }
}

/// Consecutive observations needed to change a probe's state (sla-rules section 3 rule 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Consecutive failed (or degraded) observations before the state worsens.
    pub failure: u32,
    /// Consecutive better observations before the state improves.
    pub success: u32,
}

/// When a probe runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Fixed rate.
    #[serde(with = "super::remote::duration_ms", rename = "every_ms")]
    Every(Duration),
    /// Six-field cron expression with seconds (`0 */5 * * * *`), in UTC; validated at load.
    Cron(String),
}

/// What a probe checks; one variant per kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ProbeTarget {
    Http(HttpTarget),
    /// Connect, optionally send a line and expect the answer to contain a text.
    Tcp {
        host: String,
        port: u16,
        send: Option<String>,
        expect: Option<String>,
    },
    /// TLS handshake with certificate verification; reports days to expiry.
    Tls {
        host: String,
        port: u16,
    },
    /// Query `name` for `record` against the system resolver or `nameserver`.
    Dns {
        name: String,
        record: DnsRecord,
        nameserver: Option<SocketAddr>,
    },
    /// Heartbeat: something calls `POST /api/v1/push/{token}` at least every interval;
    /// silence for the interval plus `grace` is a failed observation.
    Push {
        #[serde(with = "super::remote::duration_ms", rename = "grace_ms")]
        grace: Duration,
    },
}

/// An HTTP(S) request and how to treat its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpTarget {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// Follow up to 5 redirects (default); off: a 3xx is the answer.
    pub follow_redirects: bool,
    /// Skip TLS certificate verification (default off).
    pub insecure: bool,
    /// Most body bytes read, after decompression.
    pub max_body_bytes: usize,
}

impl HttpTarget {
    /// A plain `GET` of `url` with the defaults a probe without options gets (redirects
    /// followed, certificates checked, 64 KiB of body read).
    pub fn get(url: String) -> HttpTarget {
        HttpTarget {
            url,
            method: "GET".into(),
            headers: vec![],
            body: None,
            follow_redirects: true,
            insecure: false,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// DNS record types a probe can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DnsRecord {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
}

impl DnsRecord {
    pub const ALL: [DnsRecord; 6] = [
        DnsRecord::A,
        DnsRecord::Aaaa,
        DnsRecord::Cname,
        DnsRecord::Mx,
        DnsRecord::Txt,
        DnsRecord::Ns,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DnsRecord::A => "A",
            DnsRecord::Aaaa => "AAAA",
            DnsRecord::Cname => "CNAME",
            DnsRecord::Mx => "MX",
            DnsRecord::Txt => "TXT",
            DnsRecord::Ns => "NS",
        }
    }

    pub fn parse(text: &str) -> Option<DnsRecord> {
        DnsRecord::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(text))
    }
}

impl ProbeTarget {
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeTarget::Http(_) => "http",
            ProbeTarget::Tcp { .. } => "tcp",
            ProbeTarget::Tls { .. } => "tls",
            ProbeTarget::Dns { .. } => "dns",
            ProbeTarget::Push { .. } => "push",
        }
    }

    /// Human description of the target, e.g. the URL or `tcp://host:port`.
    pub fn describe(&self) -> String {
        match self {
            ProbeTarget::Http(http) => http.url.clone(),
            ProbeTarget::Tcp { host, port, .. } => format!("tcp://{host}:{port}"),
            ProbeTarget::Tls { host, port } => format!("tls://{host}:{port}"),
            ProbeTarget::Dns {
                name,
                record,
                nameserver,
            } => match nameserver {
                Some(ns) => format!("dns {} {name} @{ns}", record.as_str()),
                None => format!("dns {} {name}", record.as_str()),
            },
            ProbeTarget::Push { grace } => {
                format!("push (grace {})", humantime::format_duration(*grace))
            }
        }
    }
}

impl Schedule {
    /// Human description: `every 30s` or `cron "0 */5 * * * *"`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Every(d) => format!("every {}", humantime::format_duration(*d)),
            Schedule::Cron(expr) => format!("cron \"{expr}\""),
        }
    }
}
