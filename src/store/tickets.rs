//! Tickets: intake (idempotent per source and external id) and their append-only events.

use super::sql::{args, Db, Row};
use super::{Error, Result, Store};
use crate::domain::{Actor, Severity, Ticket, TicketEvent, TicketEventKind, Timestamp};
use std::collections::HashSet;

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
        self.job(move |tx: &dyn Db| {
            let mut out = Vec::with_capacity(tickets.len());
            for new in &tickets {
                let (row, created) = receive(tx, new, &actor)?;
                out.push((load_one(tx, row)?, created));
            }
            Ok(out)
        })
        .await
    }

    /// Imports helpdesk history in one transaction: each new ticket with its events (first
    /// replies...), so that a failure part-way leaves nothing written. A ticket already
    /// stored (same source and external id) is left unchanged and its events here are not
    /// added, so importing a file again adds nothing; the same ticket twice in one batch is
    /// refused (which of the two would be right?). Returns how many tickets were new.
    pub async fn import_tickets(
        &self,
        tickets: Vec<(NewTicket, Vec<TicketEvent>)>,
        actor: Actor,
    ) -> Result<usize> {
        self.job(move |tx: &dyn Db| {
            let mut seen = HashSet::with_capacity(tickets.len());
            let mut added = 0;
            for (new, events) in &tickets {
                if !seen.insert((new.source.as_str(), new.external_id.as_str())) {
                    return Err(Error::Write(format!(
                        "ticket {:?} of source {:?} appears twice in one import; nothing imported",
                        new.external_id, new.source
                    )));
                }
                let (row, created) = receive(tx, new, &actor)?;
                if created {
                    added += 1;
                    for event in events {
                        append_event(tx, row, event, &actor)?;
                    }
                }
            }
            Ok(added)
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
        self.job(move |tx: &dyn Db| {
            let row = row_of(&request_id).ok_or(Error::NotFound)?;
            if !tx.exists("SELECT 1 FROM tickets WHERE id = ?1", args![row])? {
                return Err(Error::NotFound);
            }
            append_event(tx, row, &event, &actor)?;
            load_one(tx, row)
        })
        .await
    }

    /// Claims the one due-soon warning of a ticket: true the first time only.
    pub async fn claim_ticket_warning(&self, request_id: String, now: Timestamp) -> Result<bool> {
        self.job(move |tx: &dyn Db| {
            let row = row_of(&request_id).ok_or(Error::NotFound)?;
            let inserted = tx.execute(
                "INSERT INTO ticket_warnings (ticket_id, at_ms) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
                args![row, now.millis()],
            )?;
            Ok(inserted == 1)
        })
        .await
    }

    /// One ticket by its request id.
    pub async fn ticket(&self, request_id: String) -> Result<TicketRecord> {
        self.read(move |db: &dyn Db| {
            let row = row_of(&request_id).ok_or(Error::NotFound)?;
            let record = load_one(db, row)?;
            if record.ticket.id == request_id {
                Ok(record)
            } else {
                Err(Error::NotFound)
            }
        })
        .await
    }

    /// One ticket by the helpdesk's source and external id.
    pub async fn ticket_by_external(
        &self,
        source: String,
        external_id: String,
    ) -> Result<TicketRecord> {
        self.read(move |db: &dyn Db| {
            let row: i64 = db
                .query_one(
                    "SELECT id FROM tickets WHERE source = ?1 AND external_id = ?2",
                    args![source, external_id],
                )?
                .get(0)?;
            load_one(db, row)
        })
        .await
    }

    /// Tickets received in `[from, to)`, oldest first.
    pub async fn tickets(&self, from: Timestamp, to: Timestamp) -> Result<Vec<TicketRecord>> {
        self.read(move |db: &dyn Db| {
            let rows: Vec<i64> = db.query_map(
                "SELECT id FROM tickets WHERE received_at_ms >= ?1 AND received_at_ms < ?2 ORDER BY received_at_ms, id",
                args![from.millis(), to.millis()],
                |r| r.get(0),
            )?;
            rows.into_iter().map(|row| load_one(db, row)).collect()
        })
        .await
    }
}

/// The row of the ticket with `new`'s source and external id, inserted (with its audit entry)
/// if there is none; the flag says whether it is new.
fn receive(tx: &dyn Db, new: &NewTicket, actor: &Actor) -> Result<(i64, bool)> {
    let existing: Option<i64> = tx
        .query_opt(
            "SELECT id FROM tickets WHERE source = ?1 AND external_id = ?2",
            args![new.source, new.external_id],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    if let Some(row) = existing {
        return Ok((row, false));
    }
    let channels = serde_json::to_string(&new.channels).map_err(|e| Error::Write(e.to_string()))?;
    let row = tx.insert_id(
        "INSERT INTO tickets (source, external_id, severity, channels, subject, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         RETURNING id",
        args![
            new.source,
            new.external_id,
            new.severity.as_str(),
            channels,
            new.subject,
            new.received_at.millis()
        ],
    )?;
    tx.execute(
        "INSERT INTO audit_log (at_ms, actor, action, target, detail, source) VALUES (?1, ?2, 'receive ticket', ?3, ?4, ?5)",
        args![new.received_at.millis(), actor.who, request_id(row, new.received_at), new.external_id, actor.source],
    )?;
    Ok((row, true))
}

/// Appends one event to the log of ticket `row`.
fn append_event(tx: &dyn Db, row: i64, event: &TicketEvent, actor: &Actor) -> Result<()> {
    let kind = serde_json::to_string(&event.kind).map_err(|e| Error::Write(e.to_string()))?;
    tx.execute(
        "INSERT INTO ticket_events (ticket_id, at_ms, kind, actor) VALUES (?1, ?2, ?3, ?4)",
        args![row, event.at.millis(), kind, actor.who],
    )?;
    Ok(())
}

/// Ticket `row` with its events in time order; an event whose kind no longer parses is
/// skipped rather than failing the whole ticket.
fn load_one(db: &dyn Db, row: i64) -> Result<TicketRecord> {
    let mut record = ticket_from_row(&db.query_one(
        "SELECT id, source, external_id, severity, channels, subject, received_at_ms FROM tickets WHERE id = ?1",
        args![row],
    )?)?;
    let events: Vec<TicketEvent> = db
        .query(
            "SELECT at_ms, kind FROM ticket_events WHERE ticket_id = ?1 ORDER BY at_ms, id",
            args![row],
        )?
        .iter()
        .filter_map(|r| {
            let at: i64 = r.get(0).ok()?;
            let kind: String = r.get(1).ok()?;
            Some((Timestamp::from_millis(at), kind))
        })
        .filter_map(|(at, kind)| {
            serde_json::from_str::<TicketEventKind>(&kind)
                .ok()
                .map(|kind| TicketEvent { at, kind })
        })
        .collect();
    record.ticket.events = events;
    Ok(record)
}

fn ticket_from_row(r: &Row) -> Result<TicketRecord> {
    let row: i64 = r.get(0)?;
    let severity: String = r.get(3)?;
    let channels: String = r.get(4)?;
    let received_at = Timestamp::from_millis(r.get(6)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(external_id: &str, received_at: i64) -> NewTicket {
        NewTicket {
            source: "zendesk".into(),
            external_id: external_id.into(),
            severity: Severity::Critical,
            channels: vec!["live-chat".into()],
            subject: format!("ticket {external_id}"),
            received_at: Timestamp(received_at),
        }
    }

    fn reply(at: i64) -> Vec<TicketEvent> {
        vec![TicketEvent {
            at: Timestamp(at),
            kind: TicketEventKind::PublicReply,
        }]
    }

    fn actor() -> Actor {
        Actor {
            who: "cli:test".into(),
            source: "cli".into(),
        }
    }

    /// Everything stored, tickets and events, in the whole time range.
    async fn everything(store: &Store) -> Vec<TicketRecord> {
        store
            .tickets(Timestamp(i64::MIN), Timestamp(i64::MAX))
            .await
            .expect("read")
    }

    #[tokio::test]
    async fn an_import_failing_on_its_last_ticket_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("t.db")).expect("open");
        let batch = vec![
            (ticket("Z-1", 1_000), reply(2_000)),
            (ticket("Z-2", 3_000), reply(4_000)),
            // Fails at write time, after Z-1, Z-2 and their replies were inserted.
            (ticket("Z-1", 5_000), Vec::new()),
        ];
        let err = store
            .import_tickets(batch, actor())
            .await
            .expect_err("refused");
        assert!(
            err.to_string()
                .contains("\"Z-1\" of source \"zendesk\" appears twice"),
            "{err}"
        );
        assert_eq!(everything(&store).await, [], "nothing half-written");
        store.close().await.expect("close");
    }

    #[tokio::test]
    async fn an_import_stores_tickets_with_their_first_replies_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("t.db")).expect("open");
        let batch = vec![
            (ticket("Z-1", 1_000), reply(2_000)),
            (ticket("Z-2", 3_000), Vec::new()),
        ];
        assert_eq!(
            store
                .import_tickets(batch.clone(), actor())
                .await
                .expect("import"),
            2
        );
        let stored = everything(&store).await;
        let events: Vec<(&str, &[TicketEvent])> = stored
            .iter()
            .map(|r| (r.external_id.as_str(), r.ticket.events.as_slice()))
            .collect();
        assert_eq!(events, [("Z-1", reply(2_000).as_slice()), ("Z-2", &[][..])]);

        // Again, with a reply for an already stored ticket: nothing new, no event added.
        let again = vec![(ticket("Z-2", 3_000), reply(9_000))];
        assert_eq!(
            store.import_tickets(again, actor()).await.expect("import"),
            0
        );
        assert_eq!(everything(&store).await, stored, "idempotent");
        store.close().await.expect("close");
    }
}
