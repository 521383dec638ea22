//! Recurring maintenance: the API's rules (created, listed, deleted) and the windows rules
//! publish, keyed by rule and start so that an occurrence is never published twice.

use crate::engines::on_each_engine;
use beacon::domain::{
    Actor, Impact, IncidentKind, NewIncident, RecurringMaintenance, Repeat, Timestamp,
    UpdateStatus, WeeklyAt,
};
use beacon::store::{Error, Occurrence, Store};

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn operator() -> Actor {
    Actor {
        who: "token:bot".into(),
        source: "10.0.0.2".into(),
    }
}

fn rule(title: &str, repeat: Repeat) -> RecurringMaintenance {
    RecurringMaintenance {
        key: "ignored".into(),
        title: title.into(),
        message: "routine work".into(),
        channels: vec!["web".into(), "group:api".into()],
        repeat,
        duration_ms: 3_600_000,
        auto_start: true,
        auto_end: false,
    }
}

fn occurrence(rule_key: &str, start: i64) -> Occurrence {
    Occurrence {
        rule_key: rule_key.into(),
        window: NewIncident {
            kind: IncidentKind::Maintenance,
            title: format!("{rule_key} at {start}"),
            impact: Impact::Maintenance,
            service_wide: false,
            started_at: None,
            status: UpdateStatus::Scheduled,
            message: "planned".into(),
            affected: None,
            publish: true,
            scheduled_for: Some(at(start)),
            scheduled_until: Some(at(start + 1_000)),
            auto_start: true,
            auto_end: true,
        },
    }
}

/// Every audit action with its target, oldest first.
async fn audited(store: &Store) -> Vec<(String, String)> {
    let mut entries = store.audit_log(1_000).await.expect("audit");
    entries.reverse();
    entries.into_iter().map(|e| (e.action, e.target)).collect()
}

#[tokio::test]
async fn rules_are_stored_with_their_api_key_and_listed_oldest_first() {
    on_each_engine(|store| async move {
        assert_eq!(store.recurring_rules().await.expect("none"), []);
        let weekly = WeeklyAt::parse("sun 02:00").expect("weekly");
        let first = store
            .create_recurring(
                rule("weekly", Repeat::Weekly(weekly)),
                at(1_000),
                operator(),
            )
            .await
            .expect("create weekly");
        let expected = RecurringMaintenance {
            key: "api:1".into(),
            ..rule("weekly", Repeat::Weekly(weekly))
        };
        assert_eq!(first, expected);
        let second = store
            .create_recurring(
                rule("cron", Repeat::Cron("0 0 3 * * *".into())),
                at(2_000),
                operator(),
            )
            .await
            .expect("create cron");
        assert_eq!(second.key, "api:2");
        assert_eq!(second.repeat, Repeat::Cron("0 0 3 * * *".into()));
        assert_eq!(
            store.recurring_rules().await.expect("list"),
            [first, second]
        );
        assert_eq!(
            audited(&store).await,
            [
                (
                    "create recurring maintenance".into(),
                    "recurring maintenance 1".into()
                ),
                (
                    "create recurring maintenance".into(),
                    "recurring maintenance 2".into()
                ),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_deleted_rule_leaves_the_list_once_and_its_windows_stay() {
    on_each_engine(|store| async move {
        let weekly = WeeklyAt::parse("mon 01:30").expect("weekly");
        store
            .create_recurring(rule("a", Repeat::Weekly(weekly)), at(1_000), operator())
            .await
            .expect("create a");
        let kept = store
            .create_recurring(rule("b", Repeat::Weekly(weekly)), at(1_000), operator())
            .await
            .expect("create b");
        let windows = store
            .publish_occurrences(vec![occurrence("api:1", 10_000)], at(1_500), operator())
            .await
            .expect("publish");
        assert_eq!(windows, [1]);
        store
            .delete_recurring(1, at(2_000), operator())
            .await
            .expect("delete");
        assert_eq!(store.recurring_rules().await.expect("list"), [kept]);
        let again = store.delete_recurring(1, at(3_000), operator()).await;
        assert!(matches!(again, Err(Error::NotFound)), "{again:?}");
        let missing = store.delete_recurring(99, at(3_000), operator()).await;
        assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
        assert_eq!(
            store.incident(1).await.expect("window stays").title,
            "api:1 at 10000"
        );
        let deletions = audited(&store)
            .await
            .into_iter()
            .filter(|(action, _)| action == "delete recurring maintenance")
            .count();
        assert_eq!(deletions, 1, "only the one deletion is audited");
    })
    .await;
}

#[tokio::test]
async fn an_occurrence_is_published_once_whatever_the_batch() {
    on_each_engine(|store| async move {
        let created = store
            .publish_occurrences(
                vec![
                    occurrence("config:nightly", 10_000),
                    occurrence("config:nightly", 20_000),
                    // The same rule and start twice in one batch: the second is known.
                    occurrence("config:nightly", 10_000),
                    occurrence("api:3", 10_000),
                ],
                at(1_000),
                operator(),
            )
            .await
            .expect("publish");
        assert_eq!(created, [1, 2, 3]);
        let window = store.incident(1).await.expect("window");
        assert_eq!(window.kind, IncidentKind::Maintenance);
        assert_eq!(window.published_at, Some(at(1_000)));
        assert_eq!(
            (window.scheduled_for, window.scheduled_until),
            (Some(at(10_000)), Some(at(11_000)))
        );
        assert_eq!(window.updates[0].status, UpdateStatus::Scheduled);
        assert_eq!(window.updates[0].author, "token:bot");

        // Again (a restart, a reload): only the new start is published.
        let again = store
            .publish_occurrences(
                vec![
                    occurrence("config:nightly", 10_000),
                    occurrence("config:nightly", 30_000),
                ],
                at(2_000),
                operator(),
            )
            .await
            .expect("publish again");
        assert_eq!(again, [4]);
        assert_eq!(
            store
                .publish_occurrences(Vec::new(), at(3_000), operator())
                .await
                .expect("nothing"),
            Vec::<i64>::new()
        );
        assert_eq!(store.incidents().await.expect("list").len(), 4);
        assert_eq!(
            audited(&store).await,
            [
                ("create and publish".into(), "maintenance 1".into()),
                ("create and publish".into(), "maintenance 2".into()),
                ("create and publish".into(), "maintenance 3".into()),
                ("create and publish".into(), "maintenance 4".into()),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn an_occurrence_without_a_start_is_refused_and_publishes_nothing() {
    on_each_engine(|store| async move {
        let mut startless = occurrence("config:x", 0);
        startless.window.scheduled_for = None;
        let err = store
            .publish_occurrences(
                vec![startless, occurrence("config:x", 5_000)],
                at(1_000),
                operator(),
            )
            .await;
        assert!(matches!(err, Err(Error::Write(_))), "{err:?}");
        assert_eq!(store.incidents().await.expect("list"), []);
        // The valid one is still new afterwards.
        let created = store
            .publish_occurrences(vec![occurrence("config:x", 5_000)], at(2_000), operator())
            .await
            .expect("publish");
        assert_eq!(created.len(), 1);
    })
    .await;
}
