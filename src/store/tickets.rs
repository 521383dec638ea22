//! Tickets: intake (idempotent per source and external id) and their append-only events.

use super::{Error, Result, Store};
use crate::domain::{Actor, Severity, Ticket, TicketEvent, TicketEventKind, Timestamp};
use rusqlite::{params, Connection, OptionalExtension, Row};

/// A new ticket as received.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    pub source: String,
    pub external_id: String,
    pub severity: Severity,
    pub channels: Vec<String>,
    pub subject: String,
    pub received_at: Timestamp,
}

/// A stored ticket: Beacon's request id, what was received, and its events.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRecord {
    pub ticket: Ticket,
    pub source: String,
    pub external_id: String,
    pub subject: String,
}

/// `BCN-2026-000123`: the year of receipt and the row number, readable and sortable.
pub fn request_id(row: i64, received_at: Timestamp) -> String {
    let year = received_at
        .to_rfc3339()
        .get(..4)
        .unwrap_or("0000")
        .to_owned();
    format!("BCN-{year}-{row:06}")
}

fn row_of(request_id: &str) -> Option<i64> {
    request_id.rsplit('-').next()?.parse().ok()
}

impl Store {
    /// Records a ticket, or returns the existing one for the same source and external id
    /// (unchanged: changes go through events). The flag says whether it is new.
    pub async fn receive_tickets(
        &self,
        tickets: Vec<NewTicket>,
        actor: Actor,
    ) -> Result<Vec<(TicketRecord, bool)>> {
        self.job(move |tx| {
            let mut out = Vec::with_capacity(tickets.len());
            for new in &tickets {
                let existing: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM tickets WHERE source = ?1 AND external_id = ?2",
                        params![new.source, new.external_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                let (row, created) = match existing {
                    Some(row) => (row, false),
                    None => {
                        let channels = serde_json::to_string(&new.channels).map_err(|e| Error::Write(e.to_string()))?;
                        tx.execute(
                            "INSERT INTO tickets (source, external_id, severity, channels, subject, received_at_ms)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            params![new.source, new.external_id, new.severity.as_str(), channels, new.subject, new.received_at.millis()],
                        )?;
                        let row = tx.last_insert_rowid();
                        tx.execute(
                            "INSERT INTO audit_log (at_ms, actor, action, target, detail, source) VALUES (?1, ?2, 'receive ticket', ?3, ?4, ?5)",
                            params![new.received_at.millis(), actor.who, request_id(row, new.received_at), new.external_id, actor.source],
                        )?;
                        (row, true)
                    }
                };
                out.push((load_one(tx, row)?, created));
            }
            Ok(out)
        })
        .await
    }

    /// Appends an event to a ticket.
    pub async fn add_ticket_event(
        &self,
        request_id: String,
        event: TicketEvent,
        actor: Actor,
    ) -> Result<TicketRecord> {
        self.job(move |tx| {
            let row = row_of(&request_id).ok_or(Error::NotFound)?;
            let exists: bool = tx
                .prepare_cached("SELECT 1 FROM tickets WHERE id = ?1")?
                .exists([row])?;
            if !exists {
                return Err(Error::NotFound);
            }
            let kind =
                serde_json::to_string(&event.kind).map_err(|e| Error::Write(e.to_string()))?;
            tx.execute(
                "INSERT INTO ticket_events (ticket_id, at_ms, kind, actor) VALUES (?1, ?2, ?3, ?4)",
                params![row, event.at.millis(), kind, actor.who],
            )?;
            load_one(tx, row)
        })
        .await
    }

    /// Claims the one due-soon warning of a ticket: true the first time only.
    pub async fn claim_ticket_warning(&self, request_id: String, now: Timestamp) -> Result<bool> {
        self.job(move |tx| {
            let row = row_of(&request_id).ok_or(Error::NotFound)?;
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO ticket_warnings (ticket_id, at_ms) VALUES (?1, ?2)",
                params![row, now.millis()],
            )?;
            Ok(inserted == 1)
        })
        .await
    }

    /// One ticket by its request id.
    pub async fn ticket(&self, request_id: String) -> Result<TicketRecord> {
        self.read(move |conn| {
            let row = row_of(&request_id).ok_or(Error::NotFound)?;
            let record = load_one(conn, row)?;
            if record.ticket.id == request_id {
                Ok(record)
            } else {
                Err(Error::NotFound)
            }
        })
        .await
    }

    /// Tickets received in `[from, to)`, oldest first.
    pub async fn tickets(&self, from: Timestamp, to: Timestamp) -> Result<Vec<TicketRecord>> {
        self.read(move |conn| {
            let rows: Vec<i64> = conn
                .prepare_cached("SELECT id FROM tickets WHERE received_at_ms >= ?1 AND received_at_ms < ?2 ORDER BY received_at_ms, id")?
                .query_map(params![from.millis(), to.millis()], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter().map(|row| load_one(conn, row)).collect()
        })
        .await
    }
}

fn load_one(conn: &Connection, row: i64) -> Result<TicketRecord> {
    let mut record = conn
        .prepare_cached("SELECT id, source, external_id, severity, channels, subject, received_at_ms FROM tickets WHERE id = ?1")?
        .query_row([row], ticket_from_row)?;
    let events: Vec<TicketEvent> = conn
        .prepare_cached(
            "SELECT at_ms, kind FROM ticket_events WHERE ticket_id = ?1 ORDER BY at_ms, id",
        )?
        .query_map([row], |r| {
            let kind: String = r.get(1)?;
            Ok((Timestamp(r.get(0)?), kind))
        })?
        .filter_map(|e| e.ok())
        .filter_map(|(at, kind)| {
            serde_json::from_str::<TicketEventKind>(&kind)
                .ok()
                .map(|kind| TicketEvent { at, kind })
        })
        .collect();
    record.ticket.events = events;
    Ok(record)
}

fn ticket_from_row(r: &Row<'_>) -> rusqlite::Result<TicketRecord> {
    let row: i64 = r.get(0)?;
    let severity: String = r.get(3)?;
    let channels: String = r.get(4)?;
    let received_at = Timestamp(r.get(6)?);
    Ok(TicketRecord {
        ticket: Ticket {
            id: request_id(row, received_at),
            received_at,
            severity: Severity::parse(&severity).unwrap_or(Severity::Low),
            channels: serde_json::from_str(&channels).unwrap_or_default(),
            events: Vec::new(),
        },
        source: r.get(1)?,
        external_id: r.get(2)?,
        subject: r.get(5)?,
    })
}
