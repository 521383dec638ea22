//! Plain types every other module speaks: channels, probe specs, observations, states, times.
//!
//! Owns: the vocabulary of Beacon. May use: std, serde, time. No I/O, never reads the clock.

mod auth;
mod incident;
mod location;
mod page;
mod probe;
mod recurring;
pub mod remote;
mod server;
mod ticket;
mod time;

pub use self::auth::AuthSettings;
pub use self::incident::{
    Actor, Affected, DeclaredStatus, Impact, Incident, IncidentKind, IncidentUpdate, NewIncident,
    NewUpdate, UpdateStatus,
};
pub use self::location::Location;
pub use self::page::{PageLink, PageSettings};
pub use self::probe::{DnsRecord, HttpTarget, ProbeSpec, ProbeTarget, Schedule, Thresholds};
pub use self::recurring::{RecurringMaintenance, Repeat, WeeklyAt};
pub use self::server::{IpNet, ServerSettings};
pub use self::ticket::{Severity, Ticket, TicketEvent, TicketEventKind, TicketPolicy};
pub use self::time::{
    Clock, OutOfRange, SystemClock, Timestamp, EARLIEST_ACCEPTED, PLANNING_HORIZON_MS,
};

mod notify;
pub use self::notify::{NotifyEventKind, NotifySettings, Secret, Webhook, WebhookFormat};

use serde::{Deserialize, Serialize};

/// The state of a probe, a channel or the whole service at an instant.
///
/// The order of the variants is not the severity order; see [`State::severity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Up,
    Degraded,
    Partial,
    Down,
    Maintenance,
    Unknown,
}

impl State {
    /// Every state, for iteration in tests and in the schema's check constraint.
    pub const ALL: [State; 6] = [
        State::Up,
        State::Degraded,
        State::Partial,
        State::Down,
        State::Maintenance,
        State::Unknown,
    ];

    /// The name used in JSON, in SQLite and on the page.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Degraded => "degraded",
            State::Partial => "partial",
            State::Down => "down",
            State::Maintenance => "maintenance",
            State::Unknown => "unknown",
        }
    }

    /// Parses the name written by [`State::as_str`].
    pub fn parse(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// How bad a measured state is when probes are combined (sla-rules section 3 rule 4):
    /// down > partial > degraded > up, and unknown counts only where nothing else is known.
    pub fn severity(self) -> u8 {
        match self {
            State::Unknown => 0,
            State::Up => 1,
            State::Degraded => 2,
            State::Partial => 3,
            State::Down => 4,
            State::Maintenance => 5,
        }
    }

    /// Statuspage v2 component status for this state. Unknown has no v2 name: callers map it
    /// to the last known status, so this returns `None` for it.
    pub fn v2_component_status(self) -> Option<&'static str> {
        match self {
            State::Up => Some("operational"),
            State::Degraded => Some("degraded_performance"),
            State::Partial => Some("partial_outage"),
            State::Down => Some("major_outage"),
            State::Maintenance => Some("under_maintenance"),
            State::Unknown => None,
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one probe run saw, before thresholds are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Up,
    Degraded,
    Down,
    /// The prober could not tell: its own network was down (connectivity check failed).
    /// Recorded for the record, but it covers no time: the channel's state there is unknown.
    Unknown,
}

impl Outcome {
    /// Every outcome, in the order `/metrics` lists them.
    pub const ALL: [Outcome; 4] = [
        Outcome::Up,
        Outcome::Degraded,
        Outcome::Down,
        Outcome::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Up => "up",
            Outcome::Degraded => "degraded",
            Outcome::Down => "down",
            Outcome::Unknown => "unknown",
        }
    }

    pub fn parse(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// The state a confirmed run of this outcome puts the probe in.
    pub fn state(self) -> State {
        match self {
            Outcome::Up => State::Up,
            Outcome::Degraded => State::Degraded,
            Outcome::Down => State::Down,
            Outcome::Unknown => State::Unknown,
        }
    }
}

/// Whole validated configuration (`probes.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub service: ServiceSettings,
    pub channels: Vec<Channel>,
    /// `[notify]`: webhooks and their delivery timings.
    pub notify: NotifySettings,
    /// `[tickets]`: response targets and waiver options.
    pub tickets: TicketPolicy,
    /// `[auth]`: password hashing cost, sessions, login throttling.
    pub auth: AuthSettings,
    /// `[[maintenance]]`: recurring maintenance windows.
    pub maintenance: Vec<RecurringMaintenance>,
    /// `[page]`: the public page's name, URL, logo and links.
    pub page: PageSettings,
    /// `[server]`: connection limits and timeouts of the HTTP server, and the trusted proxies.
    pub server: ServerSettings,
    /// The places probes run from: the server's own (`[service] location`) first, then the
    /// `[[location]]` tables in file order.
    pub locations: Vec<Location>,
}

/// A probe URL beginning with this (`self:/healthz`) means this Beacon itself, wherever it
/// listens: [`Config::resolve_self`] turns it into `http://ADDRESS/healthz` at start.
pub const SELF_URL_PREFIX: &str = "self:";

impl Config {
    /// Points every `self:/path` probe at `listening` (the address `serve` bound; an
    /// unspecified address such as `0.0.0.0` is reached on loopback).
    pub fn resolve_self(&mut self, listening: std::net::SocketAddr) {
        let mut address = listening;
        if address.ip().is_unspecified() {
            address.set_ip(match address {
                std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        for channel in &mut self.channels {
            for probe in &mut channel.probes {
                if let ProbeTarget::Http(target) = &mut probe.target {
                    if let Some(path) = target.url.strip_prefix(SELF_URL_PREFIX) {
                        target.url = format!("http://{address}{path}");
                    }
                }
            }
        }
    }

    /// Whether `key` names a configured channel, or `group:<slug>` a configured group: the
    /// keys incidents and tickets use for what they affect.
    pub fn knows_channel_key(&self, key: &str) -> bool {
        match key.strip_prefix("group:") {
            Some(slug) => self.channels.iter().any(|c| c.group_id() == slug),
            None => self.channels.iter().any(|c| c.id == key),
        }
    }
}

/// `[service]`: who we are and the commitment we measure against.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSettings {
    pub name: String,
    /// Where this Beacon node probes from; stored with every observation.
    pub location: String,
    /// Monthly availability commitment in percent, e.g. 99.5.
    pub commitment_percent: f64,
    /// Weight of partial outage time in availability (sla-rules 2.2), default 0.3.
    pub partial_weight: f64,
    pub maintenance_counts_as_downtime: bool,
    /// A URL the prober must reach for its failures to count (no false outage when the
    /// monitor itself is cut off).
    pub connectivity_check: Option<String>,
    /// How long raw observations are kept; state intervals are kept for ever.
    pub retention: std::time::Duration,
    /// Serve the uptime report at `/reports/YYYY-MM` to everyone (default: operators only).
    pub public_reports: bool,
    /// When to write last month's report files (cron, UTC), if `report_dir` is set.
    pub report_schedule: String,
    /// Where the scheduled job writes `YYYY-MM.{html,csv,json}`.
    pub report_dir: Option<std::path::PathBuf>,
    /// Publish automatic incidents at once instead of leaving them as drafts.
    pub auto_publish: bool,
}

/// A support channel or other component shown on the status page.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// Stable identifier used in URLs, the API and the database.
    pub id: String,
    pub name: String,
    /// Display name of the group; its id is [`slug`] of it.
    pub group: String,
    /// Counts toward the support-services commitment (sla-rules section 3 rule 9).
    pub in_commitment: bool,
    /// Empty for a declared-only component, whose state comes from incidents.
    pub probes: Vec<ProbeSpec>,
}

impl Channel {
    pub fn group_id(&self) -> String {
        slug(&self.group)
    }
}

/// Identifies one probe's history: channel id plus probe name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProbeKey {
    pub channel: String,
    pub probe: String,
}

impl std::fmt::Display for ProbeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.channel, self.probe)
    }
}

/// One probe run as recorded: what was seen, when, from where, under which settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub probe: ProbeKey,
    /// Actual start time of the run.
    pub at: Timestamp,
    pub outcome: Outcome,
    pub status_code: Option<u16>,
    pub response_ms: Option<u32>,
    /// Short failure reason, e.g. `HTTP 503` or `connect: refused`.
    pub reason: Option<String>,
    pub location: String,
    /// Interval in force when the observation was made (coverage, sla-rules 3 rule 1); for a
    /// cron schedule, the next scheduled start minus this one.
    pub interval_ms: u64,
    /// Actual start minus scheduled start.
    pub lateness_ms: u32,
    pub thresholds: Thresholds,
}

/// A change of state at an instant; a timeline is a sorted list of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub at: Timestamp,
    pub state: State,
}

/// The page-wide indicator, named as in Statuspage's v2 API.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Indicator {
    None,
    Minor,
    Major,
    Critical,
}

impl Indicator {
    /// From the channels' states and whether each counts toward the commitment (the design's
    /// mapping; open incidents join in when incidents exist): critical when every
    /// in-commitment channel is down, major when any channel is down, minor when any is
    /// degraded or partial, none otherwise.
    pub fn from_states(channels: &[(State, bool)]) -> Indicator {
        let committed: Vec<State> = channels
            .iter()
            .filter(|(_, counted)| *counted)
            .map(|(s, _)| *s)
            .collect();
        if !committed.is_empty() && committed.iter().all(|s| *s == State::Down) {
            Indicator::Critical
        } else if channels.iter().any(|(s, _)| *s == State::Down) {
            Indicator::Major
        } else if channels
            .iter()
            .any(|(s, _)| matches!(s, State::Degraded | State::Partial))
        {
            Indicator::Minor
        } else {
            Indicator::None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Indicator::None => "none",
            Indicator::Minor => "minor",
            Indicator::Major => "major",
            Indicator::Critical => "critical",
        }
    }

    /// Statuspage's wording of the indicator.
    pub fn description(self) -> &'static str {
        match self {
            Indicator::None => "All Systems Operational",
            Indicator::Minor => "Minor Service Outage",
            Indicator::Major => "Partial System Outage",
            Indicator::Critical => "Major Service Outage",
        }
    }
}

/// Turns a display name into a URL-safe id: lowercase ASCII letters and digits joined by `-`.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_of_group_names() {
        for (name, expected) in [
            ("Support channels", "support-channels"),
            ("  Product / API  ", "product-api"),
            ("Ünïcode Team", "n-code-team"),
            ("", ""),
        ] {
            assert_eq!(slug(name), expected, "{name:?}");
        }
    }

    #[test]
    fn page_indicator_follows_the_design_mapping() {
        use State::*;
        for (channels, expected) in [
            (vec![], Indicator::None),
            (vec![(Up, true), (Unknown, false)], Indicator::None),
            (vec![(Up, true), (Degraded, true)], Indicator::Minor),
            (vec![(Up, true), (Partial, false)], Indicator::Minor),
            (vec![(Up, true), (Down, false)], Indicator::Major),
            (vec![(Down, true), (Up, true)], Indicator::Major),
            (
                vec![(Down, true), (Down, true), (Up, false)],
                Indicator::Critical,
            ),
        ] {
            assert_eq!(Indicator::from_states(&channels), expected, "{channels:?}");
        }
    }

    #[test]
    fn state_names_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        assert_eq!(State::parse("sideways"), None);
    }

    #[test]
    fn unknown_is_the_least_severe_and_down_the_most_measured() {
        let mut states = [
            State::Down,
            State::Unknown,
            State::Up,
            State::Partial,
            State::Degraded,
        ];
        states.sort_by_key(|s| s.severity());
        assert_eq!(
            states,
            [
                State::Unknown,
                State::Up,
                State::Degraded,
                State::Partial,
                State::Down
            ]
        );
    }
}
