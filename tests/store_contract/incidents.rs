//! Incidents and maintenance windows with their updates: drafts and publication (the
//! publication times, an acknowledgement for the SLA clock, never change), hiding, imports
//! from another status page, and the audit log every write appends to.

use crate::engines::on_each_engine;
use beacon::domain::{
    Actor, Affected, DeclaredStatus, Impact, IncidentKind, NewIncident, NewUpdate, Timestamp,
    UpdateStatus,
};
use beacon::store::{AuditEntry, Error, ImportedIncident, ImportedUpdate, ImportedWindow};

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn operator() -> Actor {
    Actor {
        who: "user:ops".into(),
        source: "10.0.0.1".into(),
    }
}

fn affected() -> Affected {
    Affected::from([("web".to_owned(), DeclaredStatus::MajorOutage)])
}

fn incident(title: &str, publish: bool) -> NewIncident {
    NewIncident {
        kind: IncidentKind::Incident,
        title: title.into(),
        impact: Impact::Major,
        service_wide: true,
        started_at: Some(at(500)),
        status: UpdateStatus::Investigating,
        message: "looking".into(),
        affected: Some(affected()),
        publish,
        scheduled_for: None,
        scheduled_until: None,
        auto_start: false,
        auto_end: false,
    }
}

fn update(status: UpdateStatus, message: &str) -> NewUpdate {
    NewUpdate {
        status,
        message: message.into(),
        affected: None,
    }
}

/// Every audit entry as (time, action, target, detail), oldest first.
async fn audit_trail(store: &beacon::store::Store) -> Vec<(i64, String, String, String)> {
    let mut entries = store.audit_log(1_000).await.expect("audit log");
    entries.reverse();
    entries
        .into_iter()
        .map(|e| (e.at.millis(), e.action, e.target, e.detail))
        .collect()
}

#[tokio::test]
async fn a_draft_is_stored_with_its_first_update_and_nothing_public() {
    on_each_engine(|store| async move {
        assert_eq!(store.incidents().await.expect("none yet"), []);
        let draft = store
            .create_incident(incident("API down", false), at(1_000), operator())
            .await
            .expect("create");
        assert_eq!(draft.id, 1);
        assert_eq!(draft.kind, IncidentKind::Incident);
        assert_eq!(draft.title, "API down");
        assert_eq!(draft.impact, Impact::Major);
        assert!(draft.service_wide);
        assert_eq!(draft.started_at, Some(at(500)));
        assert_eq!(draft.created_at, at(1_000));
        assert_eq!(draft.published_at, None);
        assert!(!draft.hidden);
        assert_eq!(draft.origin, "beacon");
        assert_eq!((draft.scheduled_for, draft.scheduled_until), (None, None));
        assert!(!draft.auto_start && !draft.auto_end);
        assert_eq!(draft.updates.len(), 1);
        let first = &draft.updates[0];
        assert_eq!(first.status, UpdateStatus::Investigating);
        assert_eq!(first.message, "looking");
        assert_eq!(first.affected, Some(affected()));
        assert_eq!(first.created_at, at(1_000));
        assert_eq!(first.published_at, None);
        assert_eq!(first.author, "user:ops");
        assert_eq!(store.incident(1).await.expect("read back"), draft);
        assert_eq!(
            audit_trail(&store).await,
            [(
                1_000,
                "create draft".into(),
                "incident 1".into(),
                "API down".into()
            )]
        );
    })
    .await;
}

#[tokio::test]
async fn publishing_stamps_the_incident_and_its_drafts_once_and_never_again() {
    on_each_engine(|store| async move {
        store
            .create_incident(incident("API down", false), at(1_000), operator())
            .await
            .expect("create");
        let draft = store
            .add_update(
                1,
                update(UpdateStatus::Identified, "found it"),
                at(2_000),
                operator(),
            )
            .await
            .expect("draft update");
        assert_eq!(
            draft.updates[1].published_at, None,
            "a draft's update is a draft"
        );
        let published = store
            .publish_incident(1, at(3_000), operator())
            .await
            .expect("publish");
        assert_eq!(published.published_at, Some(at(3_000)));
        let times: Vec<_> = published
            .updates
            .iter()
            .map(|u| (u.created_at, u.published_at))
            .collect();
        assert_eq!(
            times,
            [(at(1_000), Some(at(3_000))), (at(2_000), Some(at(3_000)))]
        );

        // An update of a published incident is public at once; earlier ones keep their time.
        let later = store
            .add_update(
                1,
                update(UpdateStatus::Resolved, "fixed"),
                at(4_000),
                operator(),
            )
            .await
            .expect("public update");
        assert_eq!(later.updates[2].published_at, Some(at(4_000)));
        assert_eq!(later.updates[2].affected, None);

        // Publishing again changes nothing: the acknowledgement time stays.
        let again = store
            .publish_incident(1, at(9_000), operator())
            .await
            .expect("publish again");
        assert_eq!(again, later);
        assert_eq!(again.published_at, Some(at(3_000)));
        assert_eq!(
            audit_trail(&store).await,
            [
                (
                    1_000,
                    "create draft".into(),
                    "incident 1".into(),
                    "API down".into()
                ),
                (
                    2_000,
                    "update".into(),
                    "incident 1".into(),
                    "identified".into()
                ),
                (3_000, "publish".into(), "incident 1".into(), String::new()),
                (
                    4_000,
                    "update".into(),
                    "incident 1".into(),
                    "resolved".into()
                ),
            ],
            "the second publish is not audited"
        );
    })
    .await;
}

#[tokio::test]
async fn created_published_incidents_are_public_at_once_and_listed_newest_first() {
    on_each_engine(|store| async move {
        let first = store
            .create_incident(incident("one", true), at(1_000), operator())
            .await
            .expect("create");
        assert_eq!(first.published_at, Some(at(1_000)));
        assert_eq!(first.updates[0].published_at, Some(at(1_000)));
        let mut window = incident("window", false);
        window.kind = IncidentKind::Maintenance;
        window.impact = Impact::Maintenance;
        window.status = UpdateStatus::Scheduled;
        window.scheduled_for = Some(at(10_000));
        window.scheduled_until = Some(at(20_000));
        window.auto_start = true;
        window.auto_end = true;
        let second = store
            .create_incident(window, at(2_000), operator())
            .await
            .expect("create window");
        assert_eq!(second.id, 2);
        assert_eq!(second.kind, IncidentKind::Maintenance);
        assert_eq!(second.scheduled_for, Some(at(10_000)));
        assert_eq!(second.scheduled_until, Some(at(20_000)));
        assert!(second.auto_start && second.auto_end);
        let ids: Vec<i64> = store
            .incidents()
            .await
            .expect("list")
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(ids, [2, 1]);
        let actions: Vec<_> = audit_trail(&store)
            .await
            .into_iter()
            .map(|e| (e.1, e.2))
            .collect();
        assert_eq!(
            actions,
            [
                ("create and publish".into(), "incident 1".into()),
                ("create draft".into(), "maintenance 2".into()),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn missing_incidents_are_not_found_and_change_nothing() {
    on_each_engine(|store| async move {
        assert!(matches!(store.incident(7).await, Err(Error::NotFound)));
        let err = store
            .add_update(7, update(UpdateStatus::Resolved, "x"), at(1), operator())
            .await;
        assert!(matches!(err, Err(Error::NotFound)), "{err:?}");
        let err = store.publish_incident(7, at(1), operator()).await;
        assert!(matches!(err, Err(Error::NotFound)), "{err:?}");
        let err = store.hide_incident(7, at(1), operator()).await;
        assert!(matches!(err, Err(Error::NotFound)), "{err:?}");
        assert_eq!(store.incidents().await.expect("list"), []);
        assert_eq!(store.audit_log(10).await.expect("audit"), []);
    })
    .await;
}

#[tokio::test]
async fn hiding_keeps_the_record_and_its_published_times() {
    on_each_engine(|store| async move {
        let shown = store
            .create_incident(incident("one", true), at(1_000), operator())
            .await
            .expect("create");
        store
            .hide_incident(1, at(5_000), operator())
            .await
            .expect("hide");
        let hidden = store.incident(1).await.expect("still there");
        assert!(hidden.hidden);
        assert_eq!(hidden.published_at, Some(at(1_000)));
        assert_eq!(hidden.updates, shown.updates);
        // Hiding again is allowed (the row exists) and audited again.
        store
            .hide_incident(1, at(6_000), operator())
            .await
            .expect("hide again");
        assert_eq!(store.incidents().await.expect("list").len(), 1);
        let hides: Vec<_> = audit_trail(&store)
            .await
            .into_iter()
            .filter(|e| e.1 == "hide")
            .map(|e| e.0)
            .collect();
        assert_eq!(hides, [5_000, 6_000]);
    })
    .await;
}

fn imported(
    external_id: &str,
    window: Option<ImportedWindow>,
    updates: &[i64],
) -> ImportedIncident {
    ImportedIncident {
        external_id: external_id.into(),
        title: format!("imported {external_id}"),
        impact: Impact::Minor,
        started_at: Some(at(100)),
        created_at: at(200),
        updates: updates
            .iter()
            .map(|&t| ImportedUpdate {
                status: UpdateStatus::Monitoring,
                message: format!("at {t}"),
                affected: Some(affected()),
                published_at: at(t),
            })
            .collect(),
        window,
    }
}

#[tokio::test]
async fn imports_keep_original_times_and_never_repeat() {
    on_each_engine(|store| async move {
        let window = ImportedWindow {
            scheduled_for: at(50_000),
            scheduled_until: at(60_000),
            auto_start: true,
            auto_end: false,
        };
        let batch = vec![
            imported("sp-1", None, &[300, 400]),
            imported("sp-2", Some(window), &[700]),
            imported("sp-3", None, &[]),
        ];
        let added = store
            .import_incidents(batch.clone(), at(9_000), operator())
            .await
            .expect("import");
        assert_eq!(added, 3);
        let all = store.incidents().await.expect("list");
        let ids: Vec<i64> = all.iter().map(|i| i.id).collect();
        assert_eq!(ids, [3, 2, 1]);
        let one = &all[2];
        assert_eq!(one.origin, "imported");
        assert_eq!(one.kind, IncidentKind::Incident);
        assert_eq!(one.impact, Impact::Minor);
        assert_eq!((one.started_at, one.created_at), (Some(at(100)), at(200)));
        assert_eq!(
            one.published_at,
            Some(at(300)),
            "the first update is the acknowledgement"
        );
        let updates: Vec<_> = one
            .updates
            .iter()
            .map(|u| {
                (
                    u.created_at,
                    u.published_at,
                    u.author.as_str(),
                    u.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            updates,
            [
                (at(300), Some(at(300)), "import", "at 300"),
                (at(400), Some(at(400)), "import", "at 400"),
            ]
        );
        let two = &all[1];
        assert_eq!(two.kind, IncidentKind::Maintenance);
        assert_eq!(
            (two.scheduled_for, two.scheduled_until),
            (Some(at(50_000)), Some(at(60_000)))
        );
        assert!(two.auto_start && !two.auto_end);
        let three = &all[0];
        assert_eq!(three.published_at, None, "no update, no publication");
        assert!(three.updates.is_empty());
        assert!(!three.auto_start && !three.auto_end);

        // Again with one new: only that one is added; the others stay as they were.
        let mut again = batch;
        again.push(imported("sp-4", None, &[800]));
        let added = store
            .import_incidents(again, at(10_000), operator())
            .await
            .expect("import again");
        assert_eq!(added, 1);
        let after = store.incidents().await.expect("list");
        assert_eq!(after.len(), 4);
        assert_eq!(&after[1..], &all[..]);
        let imports: Vec<_> = audit_trail(&store)
            .await
            .into_iter()
            .map(|e| (e.0, e.1, e.2, e.3))
            .collect();
        assert_eq!(
            imports,
            [
                (
                    9_000,
                    "import incidents".into(),
                    "incidents".into(),
                    "3 new of 3".into()
                ),
                (
                    10_000,
                    "import incidents".into(),
                    "incidents".into(),
                    "1 new of 4".into()
                ),
            ]
        );
        assert_eq!(
            store
                .import_incidents(Vec::new(), at(11_000), operator())
                .await
                .expect("empty"),
            0
        );
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_only_grows_and_reads_newest_first_within_the_limit() {
    on_each_engine(|store| async move {
        assert_eq!(store.audit_log(5).await.expect("empty"), []);
        for (i, title) in ["a", "b", "c"].iter().enumerate() {
            store
                .create_incident(
                    incident(title, false),
                    at(1_000 * (i as i64 + 1)),
                    operator(),
                )
                .await
                .expect("create");
        }
        let entry = |ms: i64, id: i64, title: &str| AuditEntry {
            at: at(ms),
            actor: "user:ops".into(),
            action: "create draft".into(),
            target: format!("incident {id}"),
            detail: title.into(),
            source: "10.0.0.1".into(),
        };
        let before = store.audit_log(10).await.expect("all");
        assert_eq!(
            before,
            [
                entry(3_000, 3, "c"),
                entry(2_000, 2, "b"),
                entry(1_000, 1, "a")
            ]
        );
        assert_eq!(store.audit_log(2).await.expect("two"), before[..2]);
        assert_eq!(store.audit_log(0).await.expect("none"), []);
        // Later writes append; what was logged stays as it was.
        store
            .hide_incident(2, at(4_000), operator())
            .await
            .expect("hide");
        let after = store.audit_log(10).await.expect("all");
        assert_eq!(after.len(), 4);
        assert_eq!(after[0].action, "hide");
        assert_eq!(after[1..], before[..]);
    })
    .await;
}
