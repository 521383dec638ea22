//! `beacon import tickets FILE.csv`: helpdesk history. Columns: `external_id`, `source`
//! (optional, default `import`), `severity`, `channels` (ids separated by spaces or `;`),
//! `subject`, `received_at`, and optionally `first_reply_at` (a human public reply).
//! Every row is checked first; a bad row is named by line and column and nothing is imported.
//! Times are bounded as on every other path ([`super::check_received_at`],
//! [`super::check_event_at`]: received from 2000 on, a reply not before receipt, neither more
//! than 5 s after `now`). The rows
//! are then written in one transaction ([`crate::store::Store::import_tickets`]), so a
//! failure while writing leaves nothing either.

use crate::domain::{Config, Severity, TicketEvent, TicketEventKind, Timestamp};
use crate::store::NewTicket;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    external_id: String,
    #[serde(default)]
    source: Option<String>,
    severity: String,
    #[serde(default)]
    channels: String,
    #[serde(default)]
    subject: String,
    received_at: String,
    #[serde(default)]
    first_reply_at: Option<String>,
}

/// Parsed rows: each ticket with its events (its first reply, if the row has one).
pub fn parse(
    text: &str,
    config: &Config,
    now: Timestamp,
) -> Result<Vec<(NewTicket, Vec<TicketEvent>)>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![format!("line 1: header: {e}")]),
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    // (source, external_id) -> line: one ticket, one row.
    let mut lines: HashMap<(String, String), u64> = HashMap::new();
    for record in reader.records() {
        let (line, result) = match record {
            Err(e) => (e.position().map_or(0, |p| p.line()), Err(e.to_string())),
            Ok(r) => (
                r.position().map_or(0, |p| p.line()),
                r.deserialize::<Row>(Some(&headers))
                    .map_err(|e| e.to_string())
                    .and_then(|row| ticket(row, config, now)),
            ),
        };
        match result {
            Ok((ticket, events)) => {
                let key = (ticket.source.clone(), ticket.external_id.clone());
                if let Some(first) = lines.get(&key) {
                    errors.push(format!(
                        "line {line}: external_id {:?} of source {:?} repeats line {first}",
                        key.1, key.0
                    ));
                    continue;
                }
                lines.insert(key, line);
                out.push((ticket, events));
            }
            Err(e) => errors.push(format!("line {line}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn ticket(
    row: Row,
    config: &Config,
    now: Timestamp,
) -> Result<(NewTicket, Vec<TicketEvent>), String> {
    if row.external_id.is_empty() {
        return Err("external_id is empty".into());
    }
    let severity = Severity::parse(&row.severity).ok_or_else(|| {
        format!(
            "severity {:?} is not critical, high, medium or low",
            row.severity
        )
    })?;
    let channels: Vec<String> = row
        .channels
        .split([' ', ';', ','])
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    for c in &channels {
        if !config.knows_channel_key(c) {
            return Err(format!("unknown channel {c:?}"));
        }
    }
    let time = |text: &str, field: &str| {
        Timestamp::parse(text)
            .ok_or_else(|| format!("{field} {text:?} is not RFC 3339 or epoch milliseconds"))
    };
    let received_at = time(&row.received_at, "received_at")?;
    super::check_received_at(received_at, now)
        .map_err(|e| format!("received_at {:?} {e}", row.received_at))?;
    let mut events = Vec::new();
    if let Some(text) = row.first_reply_at.as_deref().filter(|t| !t.is_empty()) {
        let at = time(text, "first_reply_at")?;
        super::check_event_at(at, received_at, now)
            .map_err(|e| format!("first_reply_at {text:?} {e}"))?;
        events.push(TicketEvent {
            at,
            kind: TicketEventKind::PublicReply,
        });
    }
    Ok((
        NewTicket {
            source: row
                .source
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "import".into()),
            external_id: row.external_id,
            severity,
            channels,
            subject: row.subject,
            received_at,
        },
        events,
    ))
}
