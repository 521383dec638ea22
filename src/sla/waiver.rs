//! Rule W (sla-rules 1.2-1.4): whether the status page had already acknowledged a ticket's
//! issue when the ticket was received, and if so by which public update.
//!
//! The contract waives the Critical clock "if the initial acknowledgement of the issue was
//! not yet published on the Status Page": the customer could see it. So everything here reads
//! only *public* updates by their `published_at` (the server's publication time), never
//! drafts, `created_at`, `started_at` or a backdated start, and it ignores `hidden`: hiding or
//! "deleting" an incident later does not change what the public saw. That is what makes the
//! waiver sticky when it is recomputed from the append-only log.
//!
//! The ticket's severity is the caller's business ([`super::evaluate`]): these functions say
//! whether an incident acknowledged the ticket's components, whatever the severity.

use super::overlay::maintenance_window;
use super::ticket::TicketSettings;
use crate::domain::{
    Affected, Channel, DeclaredStatus, Impact, Incident, IncidentKind, IncidentUpdate, Timestamp,
};
use std::collections::BTreeMap;

/// The public acknowledgement of a ticket's issue by an incident or maintenance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Acknowledgement<'a> {
    pub incident: &'a Incident,
    /// `published_at` of the first public update of the incident whose component set covered
    /// the ticket (sla-rules 1.2 "Record on the ticket", edge case 18); for an incident that
    /// covered it from its first update this is `P(I)`.
    pub at: Timestamp,
}

/// Rule W conditions 1-4 and the maintenance rule 1.4, with `C = received_at` fixed: the
/// incident or in-progress maintenance that acknowledged one of `components` at `C`, with
/// the earliest acknowledgement if several did (ties go to the lowest incident id, so the
/// answer never depends on the order of `incidents`). `None` if there is none or if
/// `components` is empty (a ticket with no component cannot be matched).
pub fn acknowledgement_at<'a>(
    received_at: Timestamp,
    components: &[String],
    incidents: &'a [Incident],
    channels: &[Channel],
    settings: &TicketSettings,
) -> Option<Acknowledgement<'a>> {
    incidents
        .iter()
        .filter(|i| covers_at(i, received_at, components, channels, settings))
        .filter_map(|incident| {
            let at = first_covering_update(incident, components, channels, settings)?;
            Some(Acknowledgement { incident, at })
        })
        .min_by_key(|a| (a.at, a.incident.id))
}

/// Sla-rules 1.3: the earliest public update published in `(received_at, until]` by which an
/// unplanned incident that did not cover the ticket at receipt came to cover it (published,
/// reopened, or its component set or impact changed). This sets `acknowledged_after_ticket`
/// and, under option A2, is the response-equivalent stop. Maintenance is left out: a window
/// that starts after receipt is a different issue from the one reported (1.4).
pub fn acknowledgement_after<'a>(
    received_at: Timestamp,
    until: Timestamp,
    components: &[String],
    incidents: &'a [Incident],
    channels: &[Channel],
    settings: &TicketSettings,
) -> Option<Acknowledgement<'a>> {
    incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::Incident)
        .filter(|i| !covers_at(i, received_at, components, channels, settings))
        .filter_map(|incident| {
            let at = public_updates(incident)
                .into_iter()
                .map(|(at, _)| at)
                .filter(|at| received_at < *at && *at <= until)
                .find(|at| covers_at(incident, *at, components, channels, settings))?;
            Some(Acknowledgement { incident, at })
        })
        .min_by_key(|a| (a.at, a.incident.id))
}

/// Whether `incident` acknowledges one of `components` at instant `t`.
///
/// An incident must be published by `t` and open at `t` (a postmortem is closed; a later
/// investigating, identified or monitoring update reopens it). A maintenance must be announced
/// by `t` and in progress at `t` ([`maintenance_window`]), and never counts under option M0.
/// Either way its component set at `t` must cover a component ([`covers_components`]).
pub fn covers_at(
    incident: &Incident,
    t: Timestamp,
    components: &[String],
    channels: &[Channel],
    settings: &TicketSettings,
) -> bool {
    let announced = public_updates(incident)
        .first()
        .is_some_and(|(p, _)| *p <= t);
    let active = match incident.kind {
        IncidentKind::Incident => incident.is_open_at(t),
        IncidentKind::Maintenance => {
            !settings.maintenance_never_waives
                && maintenance_window(incident)
                    .is_some_and(|w| w.from <= t && w.to.is_none_or(|to| t < to))
        }
    };
    announced
        && active
        && covers_components(
            incident,
            stated_at(incident, t),
            components,
            channels,
            settings.waiver_requires_impact,
        )
}

/// Rule W condition 4 for one stated component set `K_I` (`None`: nothing stated yet).
///
/// A component is covered if `K_I` names it or a group (`group:<slug>`) it belongs to; a
/// ticket filed on a group is covered only by that group itself, never by an incident on one
/// of its members (the conservative default). An empty `K_I` covers nothing unless the
/// incident is `service_wide`. Under option W-impact the stated status must be an outage
/// (partial or major); a service-wide incident that states nothing for the component counts
/// by its impact (major or critical).
pub fn covers_components(
    incident: &Incident,
    stated: Option<&Affected>,
    components: &[String],
    channels: &[Channel],
    requires_impact: bool,
) -> bool {
    let expanded = stated.map(|s| expand(s, channels)).unwrap_or_default();
    components.iter().any(|key| match expanded.get(key) {
        Some(outage) => !requires_impact || *outage,
        None => {
            incident.service_wide
                && (!requires_impact || matches!(incident.impact, Impact::Major | Impact::Critical))
        }
    })
}

/// The first public update after which the incident's component set covered the ticket.
fn first_covering_update(
    incident: &Incident,
    components: &[String],
    channels: &[Channel],
    settings: &TicketSettings,
) -> Option<Timestamp> {
    let mut stated: Option<&Affected> = None;
    public_updates(incident)
        .into_iter()
        .find_map(|(at, update)| {
            stated = update.affected.as_ref().or(stated);
            let covered = covers_components(
                incident,
                stated,
                components,
                channels,
                settings.waiver_requires_impact,
            );
            covered.then_some(at)
        })
}

/// `K_I(t)`: the set stated by the latest public update at or before `t` that states one.
fn stated_at(incident: &Incident, t: Timestamp) -> Option<&Affected> {
    public_updates(incident)
        .into_iter()
        .filter(|(at, _)| *at <= t)
        .filter_map(|(_, u)| u.affected.as_ref())
        .next_back()
}

/// Public updates in publication order (ties by id, as [`Incident::public_state_at`]).
pub(super) fn public_updates(incident: &Incident) -> Vec<(Timestamp, &IncidentUpdate)> {
    let mut updates: Vec<_> = incident
        .updates
        .iter()
        .filter_map(|u| u.published_at.map(|p| (p, u)))
        .collect();
    updates.sort_by_key(|(p, u)| (*p, u.id));
    updates
}

/// Every key a stated set covers, with whether it is declared an outage: the keys
/// themselves, plus the member channels of each `group:<slug>` key.
fn expand(affected: &Affected, channels: &[Channel]) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let mut add = |key: &str, outage: bool| {
        let entry = out.entry(key.to_owned()).or_insert(false);
        *entry |= outage;
    };
    for (key, status) in affected {
        let outage = matches!(
            status,
            DeclaredStatus::PartialOutage | DeclaredStatus::MajorOutage
        );
        add(key, outage);
        if let Some(slug) = key.strip_prefix("group:") {
            for channel in channels.iter().filter(|c| c.group_id() == slug) {
                add(&channel.id, outage);
            }
        }
    }
    out
}
