//! What a check saw, and how a check's sightings become an outcome.

use crate::condition::{Condition, Context, Placeholder};
use crate::domain::{Outcome, ProbeSpec, ProbeTarget};

/// Everything one check observed, before conditions judge it. Each kind fills what it can.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// Time from the start of the check to its end (connect, answer, body).
    pub response_ms: Option<u32>,
    /// HTTP status code.
    pub status: Option<u16>,
    /// Response body (HTTP, capped), banner line (TCP), answers (DNS), push message.
    pub body: Option<String>,
    /// Whether a connection was established (HTTP, TCP, TLS).
    pub connected: bool,
    /// Milliseconds from the check until the leaf certificate expires (HTTPS, TLS).
    pub certificate_expiration_ms: Option<i64>,
    /// The address actually connected to, or the first DNS answer.
    pub ip: Option<String>,
    /// DNS response code name: NOERROR, NXDOMAIN, SERVFAIL...
    pub dns_rcode: Option<String>,
    /// Why the check could not complete, e.g. `connect: refused`, `timeout after 10s`.
    pub error: Option<String>,
}

impl Seen {
    pub(super) fn failed(reason: impl Into<String>) -> Seen {
        Seen {
            error: Some(reason.into()),
            ..Seen::default()
        }
    }

    /// Whether the check failed because of Beacon's own resources rather than the target's.
    pub(super) fn is_own_failure(&self) -> bool {
        self.error
            .as_deref()
            .is_some_and(|e| e.starts_with(super::reason::OWN_FAILURE))
    }
}

/// The outcome of a check: by the probe's conditions (all must hold) or, without any, by the
/// kind's built-in rule; then degraded if a `degraded_if` condition matches. The reason names
/// what failed: the check's own error first (more telling than `[STATUS] (missing) == 200`),
/// else the first failing condition with the value seen, e.g. `[STATUS] (503) == 200`.
///
/// A check that failed because of Beacon's own resources (no file descriptors, no memory)
/// did not see the target at all: it is unknown, never down, so Beacon's own trouble is
/// never charged to the commitment.
pub fn judge(spec: &ProbeSpec, seen: &Seen) -> (Outcome, Option<String>) {
    if seen.is_own_failure() {
        let reason = seen.error.as_deref().unwrap_or_default();
        return (Outcome::Unknown, Some(format!("not counted: {reason}")));
    }
    let ctx = seen.context();
    if spec.conditions.is_empty() {
        let (outcome, reason) = default_outcome(&spec.target, seen);
        if outcome != Outcome::Up {
            return (outcome, reason);
        }
    } else if let Some(failed) = first_failing(&spec.conditions, &ctx) {
        return (Outcome::Down, Some(seen.error.clone().unwrap_or(failed)));
    }
    for condition in &spec.degraded_if {
        let evaluation = condition.evaluate(&ctx);
        if evaluation.passed {
            return (
                Outcome::Degraded,
                Some(format!("degraded: {}", evaluation.description)),
            );
        }
    }
    (Outcome::Up, None)
}

/// Whether the probe's conditions read the body (only then is it kept).
pub fn needs_body(spec: &ProbeSpec) -> bool {
    spec.conditions
        .iter()
        .chain(&spec.degraded_if)
        .any(|c| c.placeholders().contains(&Placeholder::Body))
}

fn first_failing(conditions: &[Condition], ctx: &Context<'_>) -> Option<String> {
    conditions.iter().find_map(|c| {
        let evaluation = c.evaluate(ctx);
        (!evaluation.passed).then_some(evaluation.description)
    })
}

impl Seen {
    /// The values conditions read.
    fn context(&self) -> Context<'_> {
        Context {
            status: self.status,
            response_time_ms: self.response_ms.map(u64::from),
            body: self.body.as_deref(),
            connected: Some(self.connected),
            certificate_expiration_ms: self.certificate_expiration_ms,
            ip: self.ip.as_deref(),
            dns_rcode: self.dns_rcode.as_deref(),
        }
    }
}

/// The outcome of a check of `target` by the kind's built-in rule, with the reason when it
/// failed: a 2xx status (HTTP), a connection (TCP, TLS, plus the expected banner), NOERROR
/// with at least one answer (DNS).
fn default_outcome(target: &ProbeTarget, seen: &Seen) -> (Outcome, Option<String>) {
    if let Some(error) = &seen.error {
        return (Outcome::Down, Some(error.clone()));
    }
    match target {
        ProbeTarget::Http(_) => match seen.status {
            Some(code) if (200..300).contains(&code) => (Outcome::Up, None),
            Some(code) => (Outcome::Down, Some(format!("HTTP {code}"))),
            None => (Outcome::Down, Some("no HTTP status".to_owned())),
        },
        ProbeTarget::Tcp { .. } | ProbeTarget::Tls { .. } | ProbeTarget::Push { .. } => {
            if seen.connected {
                (Outcome::Up, None)
            } else {
                (Outcome::Down, Some("not connected".to_owned()))
            }
        }
        ProbeTarget::Dns { .. } => match seen.dns_rcode.as_deref() {
            Some("NOERROR") if seen.body.as_deref().is_some_and(|b| !b.is_empty()) => {
                (Outcome::Up, None)
            }
            Some("NOERROR") => (
                Outcome::Down,
                Some("dns: NOERROR with no answer".to_owned()),
            ),
            Some(code) => (Outcome::Down, Some(format!("dns: {code}"))),
            None => (Outcome::Down, Some("dns: no answer".to_owned())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{HttpTarget, Schedule, Thresholds};
    use std::time::Duration;

    fn spec(conditions: &[&str]) -> ProbeSpec {
        ProbeSpec {
            name: "p".into(),
            target: ProbeTarget::Http(HttpTarget::get("http://x.test/".into())),
            schedule: Schedule::Every(Duration::from_secs(1)),
            timeout: Duration::from_secs(1),
            thresholds: Thresholds {
                failure: 1,
                success: 1,
            },
            conditions: conditions
                .iter()
                .map(|c| Condition::parse(c).expect("condition"))
                .collect(),
            degraded_if: vec![],
            locations: vec!["local".into()],
            quorum: 1,
        }
    }

    #[test]
    fn a_check_beacon_could_not_make_is_unknown_never_down() {
        let own = Seen::failed("beacon itself: out of file descriptors (connect)");
        for spec in [spec(&[]), spec(&["[STATUS] == 200"])] {
            assert_eq!(
                judge(&spec, &own),
                (
                    Outcome::Unknown,
                    Some("not counted: beacon itself: out of file descriptors (connect)".into())
                )
            );
            let refused = Seen::failed("connect: refused");
            assert_eq!(judge(&spec, &refused).0, Outcome::Down);
        }
    }
}
