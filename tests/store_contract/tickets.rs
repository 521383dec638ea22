//! Tickets: intake idempotent per source and external id, the append-only event log, imports
//! of helpdesk history, reads by request id, by external id and by time, and the one due-soon
//! warning per ticket.

use crate::engines::on_each_engine;
use beacon::domain::{Actor, Severity, TicketEvent, TicketEventKind, Timestamp};
use beacon::store::{request_id, Error, NewTicket, Store};

/// 2026-01-01T00:00:00Z.
const NEW_YEAR: i64 = 1_767_225_600_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn intake() -> Actor {
    Actor {
        who: "token:helpdesk".into(),
        source: "10.0.0.3".into(),
    }
}

fn new_ticket(external_id: &str, received_at: i64) -> NewTicket {
    NewTicket {
        source: "zendesk".into(),
        external_id: external_id.into(),
        severity: Severity::Critical,
        channels: vec!["web".into(), "group:api".into()],
        subject: format!("subject {external_id}"),
        received_at: at(received_at),
    }
}

fn event(ms: i64, kind: TicketEventKind) -> TicketEvent {
    TicketEvent { at: at(ms), kind }
}

async fn everything(store: &Store) -> Vec<String> {
    store
        .tickets(at(i64::MIN), at(i64::MAX))
        .await
        .expect("tickets")
        .into_iter()
        .map(|r| r.ticket.id)
        .collect()
}

#[tokio::test]
async fn a_ticket_is_received_once_per_source_and_external_id() {
    on_each_engine(|store| async move {
        let received = store
            .receive_tickets(vec![new_ticket("Z-1", NEW_YEAR)], intake())
            .await
            .expect("receive");
        assert_eq!(received.len(), 1);
        let (record, created) = &received[0];
        assert!(created);
        assert_eq!(record.ticket.id, "BCN-2026-000001");
        assert_eq!(record.ticket.id, request_id(1, at(NEW_YEAR)));
        assert_eq!(record.ticket.received_at, at(NEW_YEAR));
        assert_eq!(record.ticket.severity, Severity::Critical);
        assert_eq!(record.ticket.channels, ["web", "group:api"]);
        assert_eq!(record.ticket.events, []);
        assert_eq!(
            (
                record.source.as_str(),
                record.external_id.as_str(),
                record.subject.as_str()
            ),
            ("zendesk", "Z-1", "subject Z-1")
        );

        // The same ticket again (changed) and a new one: the first is returned unchanged.
        let mut changed = new_ticket("Z-1", NEW_YEAR + 5_000);
        changed.subject = "other".into();
        changed.severity = Severity::Low;
        let mut other_source = new_ticket("Z-1", NEW_YEAR + 6_000);
        other_source.source = "freshdesk".into();
        let again = store
            .receive_tickets(vec![changed, other_source], intake())
            .await
            .expect("receive again");
        assert_eq!(again[0], (record.clone(), false));
        assert!(again[1].1);
        assert_eq!(again[1].0.ticket.id, "BCN-2026-000002");
        let audit: Vec<_> = store
            .audit_log(10)
            .await
            .expect("audit")
            .into_iter()
            .map(|e| (e.at.millis(), e.action, e.target, e.detail, e.actor))
            .collect();
        assert_eq!(
            audit,
            [
                (
                    NEW_YEAR + 6_000,
                    "receive ticket".into(),
                    "BCN-2026-000002".into(),
                    "Z-1".into(),
                    "token:helpdesk".into()
                ),
                (
                    NEW_YEAR,
                    "receive ticket".into(),
                    "BCN-2026-000001".into(),
                    "Z-1".into(),
                    "token:helpdesk".into()
                ),
            ],
            "a repeated intake is not audited"
        );
        assert_eq!(
            store
                .receive_tickets(Vec::new(), intake())
                .await
                .expect("empty"),
            []
        );
    })
    .await;
}

#[tokio::test]
async fn events_are_appended_and_read_in_time_order() {
    on_each_engine(|store| async move {
        store
            .receive_tickets(vec![new_ticket("Z-1", NEW_YEAR)], intake())
            .await
            .expect("receive");
        let id = "BCN-2026-000001".to_owned();
        let reply = event(NEW_YEAR + 3_000, TicketEventKind::PublicReply);
        let first = store
            .add_ticket_event(id.clone(), reply.clone(), intake())
            .await
            .expect("reply");
        assert_eq!(first.ticket.events, std::slice::from_ref(&reply));
        // Recorded later but earlier in time; then one at the very same time as the reply.
        let triage = event(
            NEW_YEAR + 1_000,
            TicketEventKind::SeverityChange(Severity::High),
        );
        let note = event(NEW_YEAR + 3_000, TicketEventKind::InternalNote);
        let channels = event(
            NEW_YEAR + 2_000,
            TicketEventKind::ChannelsChange(vec!["web".into()]),
        );
        for e in [&triage, &note, &channels] {
            store
                .add_ticket_event(id.clone(), e.clone(), intake())
                .await
                .expect("event");
        }
        let record = store.ticket(id.clone()).await.expect("ticket");
        assert_eq!(
            record.ticket.events,
            [triage, channels, reply, note],
            "by time, then in recording order"
        );
        assert_eq!(
            record.ticket.severity,
            Severity::Critical,
            "receipt's severity stays"
        );

        for unknown in ["BCN-2026-000009", "not a request id", ""] {
            let err = store
                .add_ticket_event(unknown.into(), event(1, TicketEventKind::AutoAck), intake())
                .await;
            assert!(matches!(err, Err(Error::NotFound)), "{unknown}: {err:?}");
        }
        assert_eq!(
            store.ticket(id).await.expect("ticket").ticket.events.len(),
            4
        );
    })
    .await;
}

#[tokio::test]
async fn tickets_are_found_by_request_id_external_id_and_receipt_time() {
    on_each_engine(|store| async move {
        store
            .receive_tickets(
                vec![
                    new_ticket("Z-3", NEW_YEAR + 2_000),
                    new_ticket("Z-1", NEW_YEAR),
                    new_ticket("Z-2", NEW_YEAR + 2_000),
                ],
                intake(),
            )
            .await
            .expect("receive");
        let by_id = store.ticket("BCN-2026-000002".into()).await.expect("by id");
        assert_eq!(by_id.external_id, "Z-1");
        let by_external = store
            .ticket_by_external("zendesk".into(), "Z-1".into())
            .await
            .expect("by external id");
        assert_eq!(by_external, by_id);
        for wrong in ["BCN-2025-000002", "BCN-2026-000004", "2", "BCN-2026-x"] {
            let err = store.ticket(wrong.into()).await;
            assert!(matches!(err, Err(Error::NotFound)), "{wrong}: {err:?}");
        }
        let err = store
            .ticket_by_external("freshdesk".into(), "Z-1".into())
            .await;
        assert!(matches!(err, Err(Error::NotFound)), "{err:?}");

        assert_eq!(
            everything(&store).await,
            ["BCN-2026-000002", "BCN-2026-000001", "BCN-2026-000003"],
            "oldest first, ties by row"
        );
        let window: Vec<_> = store
            .tickets(at(NEW_YEAR + 1), at(NEW_YEAR + 2_001))
            .await
            .expect("window")
            .into_iter()
            .map(|r| r.external_id)
            .collect();
        assert_eq!(window, ["Z-3", "Z-2"]);
        let half_open = store
            .tickets(at(NEW_YEAR), at(NEW_YEAR + 2_000))
            .await
            .expect("half open");
        assert_eq!(half_open.len(), 1, "from is in, to is out");
        assert_eq!(
            store.tickets(at(0), at(NEW_YEAR)).await.expect("before"),
            []
        );
    })
    .await;
}

#[tokio::test]
async fn imports_add_new_tickets_with_their_events_and_nothing_twice() {
    on_each_engine(|store| async move {
        let reply = event(NEW_YEAR + 500, TicketEventKind::PublicReply);
        let batch = vec![
            (new_ticket("Z-1", NEW_YEAR), vec![reply.clone()]),
            (new_ticket("Z-2", NEW_YEAR + 1_000), Vec::new()),
        ];
        assert_eq!(
            store.import_tickets(batch, intake()).await.expect("import"),
            2
        );
        let z1 = store
            .ticket_by_external("zendesk".into(), "Z-1".into())
            .await
            .expect("Z-1");
        assert_eq!(z1.ticket.events, [reply]);

        // Again, with an event for a stored ticket and one new ticket.
        let again = vec![
            (
                new_ticket("Z-1", NEW_YEAR),
                vec![event(NEW_YEAR + 9_000, TicketEventKind::BotReply)],
            ),
            (new_ticket("Z-3", NEW_YEAR + 2_000), Vec::new()),
        ];
        assert_eq!(
            store.import_tickets(again, intake()).await.expect("again"),
            1
        );
        assert_eq!(
            store
                .ticket_by_external("zendesk".into(), "Z-1".into())
                .await
                .expect("Z-1"),
            z1,
            "a stored ticket is left unchanged"
        );

        // The same ticket twice in one batch: refused, nothing written.
        let twice = vec![
            (new_ticket("Z-4", NEW_YEAR + 3_000), Vec::new()),
            (new_ticket("Z-4", NEW_YEAR + 4_000), Vec::new()),
        ];
        let err = store.import_tickets(twice, intake()).await;
        assert!(matches!(err, Err(Error::Write(_))), "{err:?}");
        let stored: Vec<_> = store
            .tickets(at(i64::MIN), at(i64::MAX))
            .await
            .expect("all")
            .into_iter()
            .map(|r| r.external_id)
            .collect();
        assert_eq!(stored, ["Z-1", "Z-2", "Z-3"]);
        assert_eq!(
            store
                .import_tickets(Vec::new(), intake())
                .await
                .expect("empty"),
            0
        );
    })
    .await;
}

#[tokio::test]
async fn the_due_soon_warning_is_claimed_once_per_ticket() {
    on_each_engine(|store| async move {
        store
            .receive_tickets(
                vec![new_ticket("Z-1", NEW_YEAR), new_ticket("Z-2", NEW_YEAR)],
                intake(),
            )
            .await
            .expect("receive");
        let claim = |id: &str, ms: i64| store.claim_ticket_warning(id.into(), at(ms));
        assert!(claim("BCN-2026-000001", NEW_YEAR + 1).await.expect("first"));
        assert!(!claim("BCN-2026-000001", NEW_YEAR + 2)
            .await
            .expect("second"));
        assert!(!claim("BCN-2026-000001", NEW_YEAR + 3).await.expect("third"));
        assert!(claim("BCN-2026-000002", NEW_YEAR + 4)
            .await
            .expect("other ticket"));
        let err = claim("no such id", NEW_YEAR).await;
        assert!(matches!(err, Err(Error::NotFound)), "{err:?}");
    })
    .await;
}
