//! From incidents to what `sla` needs: per channel, the declared impacts (rule 5) and the
//! maintenance windows (rule 6), each from the public updates' publication times.

use crate::domain::{Affected, Channel, DeclaredStatus, Incident, IncidentKind, State, Timestamp};
use crate::sla::{self, Declaration, Window};
use std::collections::{BTreeMap, HashMap};

/// Declarations and maintenance windows of one channel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlays {
    pub declarations: Vec<Declaration>,
    pub maintenance: Vec<Window>,
}

/// Every channel's overlays from `incidents` (published ones only; hidden ones still count:
/// the public saw them). `group:<slug>` keys stand for every channel of that group.
pub fn overlays(incidents: &[Incident], channels: &[Channel]) -> HashMap<String, Overlays> {
    let mut out: HashMap<String, Overlays> = HashMap::new();
    for incident in incidents.iter().filter(|i| i.published_at.is_some()) {
        match incident.kind {
            IncidentKind::Incident => declarations(incident, channels, &mut out),
            IncidentKind::Maintenance => maintenance(incident, channels, &mut out),
        }
    }
    out
}

/// Public updates in publication order.
fn public_updates(incident: &Incident) -> Vec<(Timestamp, &crate::domain::IncidentUpdate)> {
    let mut updates: Vec<_> = incident
        .updates
        .iter()
        .filter_map(|u| u.published_at.map(|p| (p, u)))
        .collect();
    updates.sort_by_key(|(p, u)| (*p, u.id));
    updates
}

/// Channel id to declared status, with groups expanded.
fn expand(affected: &Affected, channels: &[Channel]) -> BTreeMap<String, DeclaredStatus> {
    let mut out = BTreeMap::new();
    for (key, status) in affected {
        match key.strip_prefix("group:") {
            Some(slug) => {
                for c in channels.iter().filter(|c| c.group_id() == slug) {
                    out.insert(c.id.clone(), *status);
                }
            }
            None => {
                out.insert(key.clone(), *status);
            }
        }
    }
    out
}

fn declarations(incident: &Incident, channels: &[Channel], out: &mut HashMap<String, Overlays>) {
    let mut stated: BTreeMap<String, DeclaredStatus> = BTreeMap::new();
    // Per channel: the declaration currently open (start, state).
    let mut open: BTreeMap<String, (Timestamp, State)> = BTreeMap::new();
    for (at, update) in public_updates(incident) {
        if let Some(affected) = &update.affected {
            stated = expand(affected, channels);
        }
        let active: BTreeMap<&String, State> = if update.status.is_closed() {
            BTreeMap::new()
        } else {
            stated.iter().map(|(c, s)| (c, s.state())).collect()
        };
        // Close what changed or ended, open what is new.
        let ids: Vec<String> = open.keys().cloned().collect();
        for id in ids {
            let still = active.get(&id).copied();
            if let Some((from, state)) = open.get(&id).copied() {
                if still != Some(state) {
                    push_declaration(out, &id, from, Some(at), state);
                    open.remove(&id);
                }
            }
        }
        for (id, state) in active {
            if matches!(state, State::Degraded | State::Partial | State::Down) {
                open.entry(id.clone()).or_insert((at, state));
            }
        }
    }
    for (id, (from, state)) in open {
        push_declaration(out, &id, from, None, state);
    }
}

fn push_declaration(
    out: &mut HashMap<String, Overlays>,
    id: &str,
    from: Timestamp,
    to: Option<Timestamp>,
    state: State,
) {
    out.entry(id.to_owned())
        .or_default()
        .declarations
        .push(Declaration { from, to, state });
}

fn maintenance(incident: &Incident, channels: &[Channel], out: &mut HashMap<String, Overlays>) {
    let Some(window) = sla::maintenance_window(incident) else {
        return;
    };
    let affected = incident
        .updates
        .iter()
        .rev()
        .find_map(|u| u.affected.as_ref())
        .map(|a| expand(a, channels))
        .unwrap_or_default();
    for id in affected.keys() {
        out.entry(id.clone()).or_default().maintenance.push(window);
    }
}
