//! Builders that keep each ticket test case to one line: incidents and tickets written as
//! offsets from one receipt instant, and the expected verdict.
//!
//! Incident times, `now` of the edge-case table and expected acknowledgement times are offsets
//! from [`C`]; ticket events and expected deadlines are offsets from the ticket's own receipt
//! (which is `C` unless a case moves it).

use super::{
    attributed_to, evaluate, month_bounds, Calendar, Evaluation, TicketSettings, TicketState,
};
use crate::domain::{
    Affected, Channel, DeclaredStatus, Impact, Incident, IncidentKind, IncidentUpdate, Severity,
    Ticket, TicketEvent, TicketEventKind, Timestamp, UpdateStatus,
};

/// Ticket receipt of the cases: Thursday 2026-11-26 10:15:00 UTC.
pub const C: i64 = 1_795_688_100_000;
pub const S: i64 = 1_000;
pub const M: i64 = 60 * S;
pub const H: i64 = 60 * M;

pub use Severity::{Critical as CRIT, High as HIGH, Low as LOW, Medium as MED};

/// Live chat and web form in group "Support" (`group:support`), email in group "Mail".
pub fn channels() -> Vec<Channel> {
    [("chat", "Support"), ("web", "Support"), ("email", "Mail")]
        .into_iter()
        .map(|(id, group)| Channel {
            id: id.into(),
            name: id.into(),
            group: group.into(),
            in_commitment: true,
            probes: Vec::new(),
        })
        .collect()
}

/// An incident (or maintenance) under construction.
pub struct Inc {
    incident: Incident,
    declared: DeclaredStatus,
}

/// An unplanned incident with no update yet.
pub fn inc(id: i64) -> Inc {
    Inc {
        incident: Incident {
            id,
            kind: IncidentKind::Incident,
            title: format!("Incident {id}"),
            impact: Impact::Major,
            service_wide: false,
            started_at: None,
            created_at: Timestamp(C - 24 * H),
            published_at: None,
            hidden: false,
            origin: "beacon".into(),
            scheduled_for: None,
            scheduled_until: None,
            auto_start: false,
            auto_end: false,
            updates: Vec::new(),
        },
        declared: DeclaredStatus::MajorOutage,
    }
}

/// A maintenance with no update yet.
pub fn mnt(id: i64) -> Inc {
    let mut m = inc(id);
    m.incident.kind = IncidentKind::Maintenance;
    m.incident.impact = Impact::Maintenance;
    m.declared = DeclaredStatus::UnderMaintenance;
    m
}

impl Inc {
    /// Appends an update created at `C + created`, public at `C + published` unless a draft;
    /// `components` `None` keeps the previous set, `Some("")` states the empty set.
    fn update(
        mut self,
        created: i64,
        published: Option<i64>,
        status: UpdateStatus,
        components: Option<&str>,
    ) -> Inc {
        let published_at = published.map(|p| Timestamp(C + p));
        let affected = components.map(|list| {
            let keys = list.split(',').filter(|k| !k.is_empty());
            keys.map(|k| (k.to_owned(), self.declared))
                .collect::<Affected>()
        });
        let i = &mut self.incident;
        i.published_at = i.published_at.or(published_at);
        i.updates.push(IncidentUpdate {
            id: i.updates.len() as i64 + 1,
            status,
            message: String::new(),
            affected,
            created_at: Timestamp(C + created),
            published_at,
            author: "test".into(),
        });
        self
    }

    /// Investigating, on `components` ("chat,web"), published at `C + at`.
    pub fn open(self, at: i64, components: &str) -> Inc {
        self.update(at, Some(at), UpdateStatus::Investigating, Some(components))
    }
    /// Identified, stating a new component set.
    pub fn set(self, at: i64, components: &str) -> Inc {
        self.update(at, Some(at), UpdateStatus::Identified, Some(components))
    }
    pub fn resolve(self, at: i64) -> Inc {
        self.update(at, Some(at), UpdateStatus::Resolved, None)
    }
    pub fn reopen(self, at: i64) -> Inc {
        self.update(at, Some(at), UpdateStatus::Investigating, None)
    }
    pub fn postmortem(self, at: i64) -> Inc {
        self.update(at, Some(at), UpdateStatus::Postmortem, None)
    }
    /// A draft written at `C + at`: never public.
    pub fn draft(self, at: i64, components: &str) -> Inc {
        self.update(at, None, UpdateStatus::Investigating, Some(components))
    }
    /// The status the next updates declare for their components.
    pub fn declared(mut self, status: DeclaredStatus) -> Inc {
        self.declared = status;
        self
    }
    pub fn impact(mut self, impact: Impact) -> Inc {
        self.incident.impact = impact;
        self
    }
    pub fn wide(mut self) -> Inc {
        self.incident.service_wide = true;
        self
    }
    pub fn imported(mut self) -> Inc {
        self.incident.origin = "imported".into();
        self
    }
    pub fn hidden(mut self) -> Inc {
        self.incident.hidden = true;
        self
    }
    /// Backdated: the problem "started" and the record was created at `C + at`.
    pub fn started(mut self, at: i64) -> Inc {
        self.incident.started_at = Some(Timestamp(C + at));
        self.incident.created_at = Timestamp(C + at);
        self
    }
    pub fn titled(mut self, title: &str) -> Inc {
        self.incident.title = title.into();
        self
    }
    /// Maintenance: scheduled, on `components`, announced at `C + at`.
    pub fn announce(self, at: i64, components: &str) -> Inc {
        self.update(at, Some(at), UpdateStatus::Scheduled, Some(components))
    }
    /// Maintenance: the planned window and whether it starts and ends by itself.
    pub fn window(mut self, from: i64, until: i64, auto_start: bool, auto_end: bool) -> Inc {
        let i = &mut self.incident;
        (i.scheduled_for, i.scheduled_until) =
            (Some(Timestamp(C + from)), Some(Timestamp(C + until)));
        (i.auto_start, i.auto_end) = (auto_start, auto_end);
        self
    }
    pub fn begin(self, at: i64) -> Inc {
        self.update(at, Some(at), UpdateStatus::InProgress, None)
    }
    pub fn complete(self, at: i64) -> Inc {
        self.update(at, Some(at), UpdateStatus::Completed, None)
    }
    pub fn build(self) -> Incident {
        self.incident
    }
}

/// A ticket under construction; event offsets are from its receipt.
pub struct Tk(pub Ticket);

/// A ticket received at `C` with `severity` on `components` ("chat,web", "" for none).
pub fn tk(severity: Severity, components: &str) -> Tk {
    Tk(Ticket {
        id: "T-1".into(),
        received_at: Timestamp(C),
        severity,
        channels: keys(components),
        events: Vec::new(),
    })
}

fn keys(components: &str) -> Vec<String> {
    components
        .split(',')
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Tk {
    /// Received at `C + at` instead.
    pub fn received(self, at: i64) -> Tk {
        self.received_at(Timestamp(C + at))
    }
    pub fn received_at(mut self, at: Timestamp) -> Tk {
        self.0.received_at = at;
        self
    }
    fn event(mut self, after: i64, kind: TicketEventKind) -> Tk {
        let at = self.0.received_at.plus_ms(after);
        self.0.events.push(TicketEvent { at, kind });
        self
    }
    pub fn reply(self, after: i64) -> Tk {
        self.event(after, TicketEventKind::PublicReply)
    }
    /// A reply at an absolute instant (e.g. parsed from a non-UTC timestamp).
    pub fn reply_at(self, at: Timestamp) -> Tk {
        let after = at.millis() - self.0.received_at.millis();
        self.reply(after)
    }
    pub fn autoack(self, after: i64) -> Tk {
        self.event(after, TicketEventKind::AutoAck)
    }
    pub fn bot(self, after: i64) -> Tk {
        self.event(after, TicketEventKind::BotReply)
    }
    pub fn note(self, after: i64) -> Tk {
        self.event(after, TicketEventKind::InternalNote)
    }
    pub fn sev(self, after: i64, severity: Severity) -> Tk {
        self.event(after, TicketEventKind::SeverityChange(severity))
    }
    pub fn chan(self, after: i64, components: &str) -> Tk {
        self.event(after, TicketEventKind::ChannelsChange(keys(components)))
    }
    pub fn reopened(self, after: i64) -> Tk {
        self.event(after, TicketEventKind::Reopen)
    }
}

pub fn def() -> TicketSettings {
    TicketSettings::default()
}
pub fn a2() -> TicketSettings {
    TicketSettings {
        a2_status_page_counts: true,
        ..def()
    }
}
pub fn m0() -> TicketSettings {
    TicketSettings {
        maintenance_never_waives: true,
        ..def()
    }
}
pub fn wi() -> TicketSettings {
    TicketSettings {
        waiver_requires_impact: true,
        ..def()
    }
}
/// `retarget_from = "change"`.
pub fn chg() -> TicketSettings {
    TicketSettings {
        measure_from_severity_change: true,
        ..def()
    }
}
pub fn tier2() -> TicketSettings {
    TicketSettings {
        calendar: Calendar::Tier2 {
            holidays: Vec::new(),
        },
        ..def()
    }
}

/// Evaluates `ticket` against `incidents` at `after` milliseconds past its receipt.
pub fn eval(ticket: &Tk, incidents: Vec<Inc>, settings: &TicketSettings, after: i64) -> Evaluation {
    let incidents: Vec<Incident> = incidents.into_iter().map(Inc::build).collect();
    let now = ticket.0.received_at.plus_ms(after);
    evaluate(&ticket.0, &incidents, &channels(), settings, now)
}

/// The expected verdict; unset fields are not checked, except that `waived_by`,
/// `ack_published_at`, the flag and the A2 stop must match exactly.
#[derive(Debug, Default)]
pub struct Exp {
    state: Option<TicketState>,
    waived_by: Option<i64>,
    ack: Option<i64>,
    flagged: bool,
    stop: Option<i64>,
    due: Option<i64>,
    origin: Option<&'static str>,
    month: Option<(i32, u8)>,
    severity: Option<Severity>,
}

fn state(state: TicketState) -> Exp {
    Exp {
        state: Some(state),
        ..Exp::default()
    }
}
/// Waived by incident `id`, acknowledged at `C + ack`.
pub fn waived(id: i64, ack: i64) -> Exp {
    Exp {
        waived_by: Some(id),
        ack: Some(ack),
        ..state(TicketState::Waived)
    }
}
pub fn pending() -> Exp {
    state(TicketState::Pending)
}
pub fn met() -> Exp {
    state(TicketState::Met)
}
pub fn breached() -> Exp {
    state(TicketState::Breached)
}

impl Exp {
    /// `acknowledged_after_ticket` is set.
    pub fn flagged(mut self) -> Exp {
        self.flagged = true;
        self
    }
    /// Due `after` milliseconds past receipt.
    pub fn due(mut self, after: i64) -> Exp {
        self.due = Some(after);
        self
    }
    pub fn origin(mut self, origin: &'static str) -> Exp {
        self.origin = Some(origin);
        self
    }
    /// Option A2 stopped the clock at `C + at`.
    pub fn stop(mut self, at: i64) -> Exp {
        self.stop = Some(at);
        self
    }
    /// Evaluated as this severity.
    pub fn severity(mut self, severity: Severity) -> Exp {
        self.severity = Some(severity);
        self
    }
    /// Counted in this UTC month and not the next.
    pub fn month(mut self, year: i32, month: u8) -> Exp {
        self.month = Some((year, month));
        self
    }

    /// What differs between `got` for `ticket` and this expectation, if anything.
    pub fn mismatch(&self, ticket: &Ticket, got: &Evaluation) -> Option<String> {
        let at = |offset: Option<i64>| offset.map(|o| Timestamp(C + o));
        let actual = (
            got.state,
            got.waived_by,
            got.ack_published_at,
            got.acknowledged_after_ticket,
            got.status_page_stop_at,
            got.deadline,
            got.ack_origin.as_deref(),
            got.severity,
        );
        let expected = (
            self.state.unwrap_or(got.state),
            self.waived_by,
            at(self.ack),
            self.flagged,
            at(self.stop),
            (self.due).map_or(got.deadline, |d| Some(ticket.received_at.plus_ms(d))),
            self.origin.or(got.ack_origin.as_deref()),
            self.severity.unwrap_or(got.severity),
        );
        let counted_in = |(year, month): (i32, u8)| {
            month_bounds(year, month).is_some_and(|(from, to)| attributed_to(ticket, from, to))
        };
        let month_ok = self.month.is_none_or(|(year, month)| {
            let next = if month == 12 {
                (year + 1, 1)
            } else {
                (year, month + 1)
            };
            counted_in((year, month)) && !counted_in(next)
        });
        (actual != expected || !month_ok).then(|| {
            format!(
                "(state, waived_by, ack, flag, A2 stop, deadline, origin, severity) expected {expected:?}, \
                 got {actual:?}, month ok: {month_ok}"
            )
        })
    }
}
