//! `beacon import tickets FILE.csv`: helpdesk history. Columns: `external_id`, `source`
//! (optional, default `import`), `severity`, `channels` (ids separated by spaces or `;`),
//! `subject`, `received_at`, and optionally `first_reply_at` (a human public reply).
//! Every row is checked first; a bad row is named by line and nothing is imported.

use crate::domain::{Config, Severity, TicketEvent, TicketEventKind, Timestamp};
use crate::store::NewTicket;
use serde::Deserialize;

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

/// Parsed rows: each ticket with its optional first reply.
pub fn parse(
    text: &str,
    config: &Config,
) -> Result<Vec<(NewTicket, Option<TicketEvent>)>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![format!("line 1: header: {e}")]),
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let (line, result) = match record {
            Err(e) => (e.position().map_or(0, |p| p.line()), Err(e.to_string())),
            Ok(r) => (
                r.position().map_or(0, |p| p.line()),
                r.deserialize::<Row>(Some(&headers))
                    .map_err(|e| e.to_string())
                    .and_then(|row| ticket(row, config)),
            ),
        };
        match result {
            Ok(t) => out.push(t),
            Err(e) => errors.push(format!("line {line}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn ticket(row: Row, config: &Config) -> Result<(NewTicket, Option<TicketEvent>), String> {
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
    let reply = match row.first_reply_at.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => Some(TicketEvent {
            at: time(t, "first_reply_at")?,
            kind: TicketEventKind::PublicReply,
        }),
        None => None,
    };
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
        reply,
    ))
}
