//! Operator accounts and sessions (looked up by the cookie's hash; disabling an account or
//! changing its password ends its sessions), and API tokens (prober tokens bound to a
//! location, each use noted, revocation at once).

use crate::engines::on_each_engine;
use beacon::domain::{Actor, Timestamp};
use beacon::store::{Error, SessionRecord, Store, TokenRecord};

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn admin() -> Actor {
    Actor {
        who: "cli:root".into(),
        source: "cli".into(),
    }
}

async fn add_user(store: &Store, name: &str, role: &str, ms: i64) -> i64 {
    store
        .create_user(
            name.into(),
            role.into(),
            format!("hash-{name}"),
            at(ms),
            admin(),
        )
        .await
        .expect("create user")
}

async fn log_in(store: &Store, cookie: &str, user: &str, ms: i64, expires: i64) {
    store
        .create_session(
            cookie.into(),
            user.into(),
            format!("csrf-{cookie}"),
            at(ms),
            at(expires),
            "10.0.0.9".into(),
        )
        .await
        .expect("log in");
}

/// Every audit action with its target, oldest first.
async fn audited(store: &Store) -> Vec<(String, String)> {
    let mut entries = store.audit_log(1_000).await.expect("audit");
    entries.reverse();
    entries.into_iter().map(|e| (e.action, e.target)).collect()
}

#[tokio::test]
async fn accounts_have_unique_names_and_are_listed_by_name() {
    on_each_engine(|store| async move {
        assert!(store.users().await.expect("none").is_empty());
        assert_eq!(add_user(&store, "bob", "operator", 1_000).await, 1);
        assert_eq!(add_user(&store, "Alice", "admin", 2_000).await, 2);
        assert_eq!(add_user(&store, "carol", "operator", 3_000).await, 3);
        let taken = store
            .create_user("bob".into(), "admin".into(), "h".into(), at(4_000), admin())
            .await;
        assert!(matches!(taken, Err(Error::Conflict)), "{taken:?}");
        let bob = store.user("bob".into()).await.expect("bob");
        assert_eq!(
            (
                bob.id,
                bob.name.as_str(),
                bob.role.as_str(),
                bob.password_hash.as_str()
            ),
            (1, "bob", "operator", "hash-bob")
        );
        assert_eq!((bob.created_at, bob.disabled_at), (at(1_000), None));
        let names: Vec<String> = store
            .users()
            .await
            .expect("users")
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["Alice", "bob", "carol"], "by name, byte order");
        let missing = store.user("dave".into()).await;
        assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
        let missing = store.user("Bob".into()).await;
        assert!(
            matches!(missing, Err(Error::NotFound)),
            "names are case-sensitive"
        );
        let entries = store.audit_log(1).await.expect("audit");
        assert_eq!(
            (
                entries[0].action.as_str(),
                entries[0].target.as_str(),
                entries[0].detail.as_str()
            ),
            ("create account", "user carol", "operator"),
            "the refused name is not audited"
        );
    })
    .await;
}

#[tokio::test]
async fn sessions_are_found_by_hash_until_they_expire() {
    on_each_engine(|store| async move {
        add_user(&store, "bob", "operator", 1_000).await;
        log_in(&store, "h1", "bob", 2_000, 10_000).await;
        let expected = SessionRecord {
            user: "bob".into(),
            role: "operator".into(),
            csrf: "csrf-h1".into(),
            expires_at: at(10_000),
        };
        assert_eq!(
            store.session("h1".into(), at(9_999)).await.expect("live"),
            expected
        );
        let expired = store.session("h1".into(), at(10_000)).await;
        assert!(matches!(expired, Err(Error::NotFound)), "{expired:?}");
        let unknown = store.session("h2".into(), at(3_000)).await;
        assert!(matches!(unknown, Err(Error::NotFound)), "{unknown:?}");
        let nobody = store
            .create_session(
                "h3".into(),
                "dave".into(),
                "c".into(),
                at(1),
                at(2),
                "x".into(),
            )
            .await;
        assert!(matches!(nobody, Err(Error::NotFound)), "{nobody:?}");

        // Pruning forgets the sessions expired at `now`, not the later ones.
        log_in(&store, "h4", "bob", 2_000, 20_000).await;
        log_in(&store, "h5", "bob", 2_000, 30_000).await;
        assert_eq!(store.prune_sessions(at(20_000)).await.expect("prune"), 2);
        assert_eq!(store.prune_sessions(at(20_000)).await.expect("again"), 0);
        assert!(store.session("h5".into(), at(20_000)).await.is_ok());

        // Logging out ends the session; an unknown one is no error and is not audited.
        let bob = Actor {
            who: "user:bob".into(),
            source: "10.0.0.9".into(),
        };
        store
            .end_session("h5".into(), at(21_000), bob.clone())
            .await
            .expect("log out");
        store
            .end_session("h5".into(), at(22_000), bob)
            .await
            .expect("unknown");
        let gone = store.session("h5".into(), at(21_000)).await;
        assert!(matches!(gone, Err(Error::NotFound)), "{gone:?}");
        let actions: Vec<String> = audited(&store).await.into_iter().map(|a| a.0).collect();
        assert_eq!(
            actions,
            ["create account", "log in", "log in", "log in", "log out"]
        );
        let login = &store.audit_log(100).await.expect("audit")[1];
        assert_eq!(
            (login.actor.as_str(), login.source.as_str()),
            ("user:bob", "10.0.0.9")
        );
    })
    .await;
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_and_enabling_does_not_revive_them() {
    on_each_engine(|store| async move {
        add_user(&store, "bob", "operator", 1_000).await;
        add_user(&store, "carol", "admin", 1_000).await;
        log_in(&store, "bob-1", "bob", 2_000, 90_000).await;
        log_in(&store, "carol-1", "carol", 2_000, 90_000).await;
        store
            .set_user_disabled("bob".into(), true, at(3_000), admin())
            .await
            .expect("disable");
        assert_eq!(
            store.user("bob".into()).await.expect("bob").disabled_at,
            Some(at(3_000))
        );
        let ended = store.session("bob-1".into(), at(4_000)).await;
        assert!(matches!(ended, Err(Error::NotFound)), "{ended:?}");
        assert!(
            store.session("carol-1".into(), at(4_000)).await.is_ok(),
            "others stay"
        );
        // A session opened while disabled is never valid.
        log_in(&store, "bob-2", "bob", 4_000, 90_000).await;
        assert!(store.session("bob-2".into(), at(5_000)).await.is_err());

        store
            .set_user_disabled("bob".into(), false, at(6_000), admin())
            .await
            .expect("enable");
        assert_eq!(
            store.user("bob".into()).await.expect("bob").disabled_at,
            None
        );
        assert!(store.session("bob-1".into(), at(7_000)).await.is_err());
        assert!(
            store.session("bob-2".into(), at(7_000)).await.is_ok(),
            "enabling keeps it"
        );
        let missing = store
            .set_user_disabled("dave".into(), true, at(1), admin())
            .await;
        assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
        let actions: Vec<_> = audited(&store)
            .await
            .into_iter()
            .filter(|a| a.0.ends_with("able account"))
            .collect();
        assert_eq!(
            actions,
            [
                ("disable account".into(), "user bob".into()),
                ("enable account".into(), "user bob".into()),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_new_password_replaces_the_hash_and_ends_every_session() {
    on_each_engine(|store| async move {
        add_user(&store, "bob", "operator", 1_000).await;
        log_in(&store, "a", "bob", 2_000, 90_000).await;
        log_in(&store, "b", "bob", 2_000, 90_000).await;
        store
            .set_password("bob".into(), "new-hash".into(), at(3_000), admin())
            .await
            .expect("set password");
        assert_eq!(
            store.user("bob".into()).await.expect("bob").password_hash,
            "new-hash"
        );
        assert!(store.session("a".into(), at(4_000)).await.is_err());
        assert!(store.session("b".into(), at(4_000)).await.is_err());
        assert_eq!(
            store.prune_sessions(at(i64::MAX)).await.expect("prune"),
            0,
            "deleted"
        );
        let missing = store
            .set_password("dave".into(), "h".into(), at(1), admin())
            .await;
        assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
        assert_eq!(
            audited(&store).await.last(),
            Some(&("change password".into(), "user bob".into()))
        );
    })
    .await;
}

#[tokio::test]
async fn tokens_are_used_by_hash_noted_and_revoked_at_once() {
    on_each_engine(|store| async move {
        assert_eq!(store.tokens().await.expect("none"), []);
        let bot = store
            .create_token(
                "bot".into(),
                "operator".into(),
                "hash-bot".into(),
                at(1_000),
                admin(),
            )
            .await
            .expect("token");
        let prober = store
            .create_prober_token(
                "eu".into(),
                "eu-west".into(),
                "hash-eu".into(),
                at(2_000),
                admin(),
            )
            .await
            .expect("prober token");
        assert_eq!((bot, prober), (1, 2));
        let used = store
            .use_token("hash-bot".into(), at(5_000))
            .await
            .expect("use");
        assert_eq!(
            used,
            TokenRecord {
                id: 1,
                name: "bot".into(),
                role: "operator".into(),
                location: None,
                created_at: at(1_000),
                last_used_at: None,
                revoked_at: None,
            },
            "the record as it was before this use"
        );
        let eu = store
            .use_token("hash-eu".into(), at(6_000))
            .await
            .expect("use prober");
        assert_eq!(
            (eu.role.as_str(), eu.location.as_deref()),
            ("prober", Some("eu-west"))
        );
        let unknown = store.use_token("hash-x".into(), at(6_000)).await;
        assert!(matches!(unknown, Err(Error::NotFound)), "{unknown:?}");

        let listed = store.tokens().await.expect("tokens");
        let summary: Vec<_> = listed
            .iter()
            .map(|t| (t.id, t.last_used_at, t.revoked_at))
            .collect();
        assert_eq!(
            summary,
            [(2, Some(at(6_000)), None), (1, Some(at(5_000)), None)],
            "newest first, each use noted"
        );

        store
            .revoke_token("bot".into(), at(7_000), admin())
            .await
            .expect("revoke");
        let revoked = store.use_token("hash-bot".into(), at(8_000)).await;
        assert!(matches!(revoked, Err(Error::NotFound)), "{revoked:?}");
        let again = store.revoke_token("bot".into(), at(9_000), admin()).await;
        assert!(matches!(again, Err(Error::NotFound)), "{again:?}");
        let missing = store
            .revoke_token("nobody".into(), at(9_000), admin())
            .await;
        assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
        let after = store.tokens().await.expect("tokens");
        assert_eq!(after[1].revoked_at, Some(at(7_000)));
        assert_eq!(
            after[1].last_used_at,
            Some(at(5_000)),
            "a refused use is not noted"
        );
        assert_eq!(
            audited(&store).await,
            [
                ("create token".into(), "token 1".into()),
                ("create token".into(), "token 2".into()),
                ("revoke token".into(), "bot".into()),
            ]
        );
        let details: Vec<String> = store
            .audit_log(3)
            .await
            .expect("audit")
            .into_iter()
            .map(|e| e.detail)
            .collect();
        assert_eq!(details, ["", "eu (prober at eu-west)", "bot (operator)"]);

        // The same hash twice is refused by the database; nothing is added.
        let duplicate = store
            .create_token(
                "bot2".into(),
                "admin".into(),
                "hash-eu".into(),
                at(10_000),
                admin(),
            )
            .await;
        assert!(duplicate.is_err(), "{duplicate:?}");
        assert_eq!(store.tokens().await.expect("tokens").len(), 2);
    })
    .await;
}

/// The login throttle's counts: a streak per address and lower-cased name counted in the
/// database (restarting after its reset instant), an address's failures after an instant,
/// a success ending only its own streak, and old rows deleted with the next failure.
#[tokio::test]
async fn login_failures_are_counted_per_address_and_name_and_forgotten_in_time() {
    on_each_engine(|store| async move {
        let fail = |address: &str, name: &str, now: i64, reset: i64, forget: i64| {
            store.login_failed(address.into(), name.into(), at(now), at(reset), at(forget))
        };
        for now in [1_000, 2_000, 3_000] {
            fail("10.0.0.1", "alice", now, 0, 0).await.expect("fail");
        }
        fail("10.0.0.1", "bob", 3_500, 0, 0).await.expect("fail");
        fail("10.0.0.2", "alice", 3_600, 0, 0).await.expect("fail");
        let history = store
            .login_history("10.0.0.1".into(), "alice".into(), at(1_500))
            .await
            .expect("history");
        assert_eq!(
            history.streak,
            Some(beacon::account::Streak {
                count: 3,
                last: at(3_000)
            })
        );
        assert_eq!(
            history.address_failures,
            vec![at(2_000), at(3_000), at(3_500)]
        );

        // A failure after the streak's reset instant counts from one.
        fail("10.0.0.1", "alice", 10_000, 3_000, 0)
            .await
            .expect("fail");
        let history = store
            .login_history("10.0.0.1".into(), "alice".into(), at(0))
            .await
            .expect("history");
        assert_eq!(history.streak.map(|s| s.count), Some(1));

        store
            .login_succeeded("10.0.0.1".into(), "alice".into())
            .await
            .expect("success");
        let after = store
            .login_history("10.0.0.1".into(), "alice".into(), at(0))
            .await
            .expect("history");
        assert_eq!(after.streak, None);
        assert_eq!(
            after.address_failures.len(),
            5,
            "the address's failures stay"
        );
        let other = store
            .login_history("10.0.0.2".into(), "alice".into(), at(0))
            .await
            .expect("history");
        assert_eq!(
            other.streak.map(|s| s.count),
            Some(1),
            "another address's own streak"
        );

        // Forgetting: failures at or before 3 500 and streaks last at or before 3 600 go.
        fail("10.0.0.3", "carol", 20_000, 3_600, 3_500)
            .await
            .expect("fail");
        let forgotten = store
            .login_history("10.0.0.1".into(), "bob".into(), at(0))
            .await
            .expect("history");
        assert_eq!(forgotten.streak, None, "bob's streak (3 500) is over");
        assert_eq!(forgotten.address_failures, vec![at(10_000)]);
        let gone = store
            .login_history("10.0.0.2".into(), "alice".into(), at(0))
            .await
            .expect("history");
        assert_eq!((gone.streak, gone.address_failures.len()), (None, 1));
    })
    .await;
}
