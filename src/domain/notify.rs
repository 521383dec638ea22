//! Outgoing notifications as configured: the webhooks, the events each one wants, how its
//! body is shaped, and the delivery timings (`[notify]` in `probes.toml`).

use std::fmt;
use std::time::Duration;

/// What a notification is about; the name appears in the `X-Beacon-Event` header, in the
/// body's `event` field and in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyEventKind {
    /// A channel's confirmed state changed.
    ChannelState,
    /// An incident was published or updated.
    IncidentUpdate,
    /// An unanswered ticket is within 15 minutes of its first-response deadline (sent once).
    TicketDueSoon,
}

impl NotifyEventKind {
    pub const ALL: [NotifyEventKind; 3] = [
        NotifyEventKind::ChannelState,
        NotifyEventKind::IncidentUpdate,
        NotifyEventKind::TicketDueSoon,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEventKind::ChannelState => "channel_state",
            NotifyEventKind::IncidentUpdate => "incident_update",
            NotifyEventKind::TicketDueSoon => "ticket_due_soon",
        }
    }

    /// Parses the name written by [`NotifyEventKind::as_str`].
    pub fn parse(name: &str) -> Option<NotifyEventKind> {
        NotifyEventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

impl fmt::Display for NotifyEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shape of a webhook's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WebhookFormat {
    /// Beacon's own JSON object (`{"event": ..., ...}`), for programs.
    #[default]
    Json,
    /// `{"text": "..."}`: what Slack incoming webhooks (and Mattermost, Rocket.Chat...) accept.
    Slack,
}

impl WebhookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Json => "json",
            WebhookFormat::Slack => "slack",
        }
    }
}

/// A shared secret. Its `Debug` never shows the value, so configurations can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value itself, for signing; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// One `[[notify.webhook]]`: where to POST which events, in which format.
#[derive(Clone, PartialEq)]
pub struct Webhook {
    /// Names the webhook in the outbox and the logs (default: the URL's host).
    pub name: String,
    /// An http or https URL.
    pub url: String,
    /// The events it receives; never empty.
    pub events: Vec<NotifyEventKind>,
    /// Key of the `X-Beacon-Signature` HMAC, if the receiver checks one.
    pub secret: Option<Secret>,
    pub format: WebhookFormat,
}

impl Webhook {
    /// True if this webhook receives events of `kind`.
    pub fn wants(&self, kind: NotifyEventKind) -> bool {
        self.events.contains(&kind)
    }
}

/// Webhook URLs often are credentials themselves (a Slack incoming webhook's path is its
/// token), so `Debug` shows only the scheme and host.
impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("url", &redact_url(&self.url))
            .field("events", &self.events)
            .field("secret", &self.secret)
            .field("format", &self.format)
            .finish()
    }
}

/// `scheme://host[:port]` plus `/[redacted]` when the URL had a path, query or user info.
fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).unwrap_or("");
    let (host, had_user) = match authority.rsplit_once('@') {
        Some((_, host)) => (host, true),
        None => (authority, false),
    };
    let hidden = if had_user || end < rest.len() {
        "/[redacted]"
    } else {
        ""
    };
    format!("{scheme}://{host}{hidden}")
}

/// `[notify]`: the webhooks and how hard Beacon tries to reach them.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifySettings {
    pub webhooks: Vec<Webhook>,
    /// Delay after the first failed attempt; each further failure doubles it.
    pub retry_base: Duration,
    /// The delay never grows past this.
    pub retry_max: Duration,
    /// One attempt (connect, send, answer) gives up after this long.
    pub timeout: Duration,
    /// Attempts before a notification is marked failed (kept, visible, not retried).
    pub max_attempts: u32,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            webhooks: Vec::new(),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(600),
            timeout: Duration::from_secs(10),
            max_attempts: 10,
        }
    }
}

impl NotifySettings {
    /// How long to wait after `attempts` failed attempts (1 or more): `retry_base`, doubled
    /// per further failure, capped at `retry_max`. With the defaults (5 s, 10 min, 10
    /// attempts) a receiver gets about half an hour to come back.
    pub fn retry_delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.retry_base
            .saturating_mul(1u32 << doublings)
            .min(self.retry_max)
    }

    /// The webhooks that receive events of `kind`.
    pub fn webhooks_for(&self, kind: NotifyEventKind) -> impl Iterator<Item = &Webhook> {
        self.webhooks.iter().filter(move |w| w.wants(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_from_the_base_up_to_the_cap() {
        let settings = NotifySettings::default();
        let secs: Vec<u64> = (1..=10)
            .map(|n| settings.retry_delay(n).as_secs())
            .collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(settings.retry_delay(0), Duration::from_secs(5));
        assert_eq!(settings.retry_delay(u32::MAX), Duration::from_secs(600));
    }

    #[test]
    fn debug_hides_secrets_and_url_paths() {
        let hook = Webhook {
            name: "slack".into(),
            url: "https://hooks.slack.test/services/T0/B0/XYZ".into(),
            events: vec![NotifyEventKind::ChannelState],
            secret: Some(Secret::new("hunter2".into())),
            format: WebhookFormat::Slack,
        };
        let text = format!("{hook:?}");
        assert!(!text.contains("hunter2") && !text.contains("XYZ"), "{text}");
        assert!(
            text.contains("https://hooks.slack.test/[redacted]"),
            "{text}"
        );
        for (url, shown) in [
            ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
            ("https://u:p@x.test/", "https://x.test/[redacted]"),
            ("https://x.test?token=1", "https://x.test/[redacted]"),
        ] {
            assert_eq!(redact_url(url), shown);
        }
    }

    #[test]
    fn event_names_round_trip() {
        for kind in NotifyEventKind::ALL {
            assert_eq!(NotifyEventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NotifyEventKind::parse("channel"), None);
    }
}
