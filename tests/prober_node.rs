//! The real `beacon probe` binary against a fake of the server's two endpoints (the real
//! ones land on another branch): assignment with ETag polling, batches of observations of a
//! local upstream, an assignment change, a server answering 503 and a server gone, a restart
//! of the node on its spool, and one log line per change of the link. Every probe run is
//! counted at the upstream, so "none lost, none twice" is checked by counting.

mod common;
#[path = "common/prober_fake.rs"]
mod prober_fake;

use beacon::domain::Outcome;
use common::wait_for;
use prober_fake::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_probes_its_assignment_and_delivers_every_observation_once_oldest_first() {
    let t0 = now_ms();
    let upstream = CountingUpstream::start().await;
    let mut fake = FakeServer::start(assignment(upstream.addr, &["a"])).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = dir.path().join("spool.sqlite");
    let node = Node::start(&fake.url(), &spool, dir.path().join("node1.log"), true);

    // The assignment is fetched and its probe's observations arrive, as the node saw them.
    wait_for(Duration::from_secs(10), "observations of web/a", || async {
        (fake.delivered("a").len() >= 3).then_some(())
    })
    .await;
    let first = fake.delivered("a");
    for o in &first {
        assert_eq!(
            (o.probe.channel.as_str(), o.location.as_str()),
            ("web", "eu")
        );
        assert_eq!(
            (o.outcome, o.status_code),
            (Outcome::Up, Some(200)),
            "{o:?}"
        );
        assert_eq!(o.interval_ms, EVERY_MS);
        assert!(o.at.millis() >= t0 && o.at.millis() <= now_ms(), "{o:?}");
    }
    let (reported_at, report) = fake.with(|s| s.reports[0].clone());
    assert_eq!(report.version, env!("CARGO_PKG_VERSION"));
    assert!(
        (t0..=reported_at).contains(&report.sent_at.millis()),
        "{report:?}"
    );

    // The node polls with the ETag (304s), then follows a changed assignment.
    wait_for(
        Duration::from_secs(6),
        "a 304 to the node's poll",
        || async { (fake.with(|s| s.answered_304) >= 1).then_some(()) },
    )
    .await;
    fake.with(|s| {
        s.assignment = Some(assignment(upstream.addr, &["a", "b"]));
        s.etag = "\"v2\"".into();
    });
    let changed = fake.with(|s| s.answered_304);
    wait_for(
        Duration::from_secs(6),
        "observations of the new probe b",
        || async { (fake.delivered("b").len() >= 2).then_some(()) },
    )
    .await;
    wait_for(Duration::from_secs(6), "a 304 for the new ETag", || async {
        (fake.with(|s| s.answered_304) > changed).then_some(())
    })
    .await;

    // The server answers 503: the node spools; restarted meanwhile, it resumes its spool
    // and its saved assignment (the server still cannot give it one).
    let cut = now_ms();
    refuse_until_both_endpoints_saw_it(&fake).await;
    let (code, log1) = node.terminate().await;
    assert_eq!(code, Some(0), "{log1}");
    let stopped = now_ms();
    let node = Node::start(&fake.url(), &spool, dir.path().join("node2.log"), false);
    let hits_b = upstream.hits("b");
    wait_for(
        Duration::from_secs(5),
        "probing from the saved assignment",
        || async { (upstream.hits("b") >= hits_b + 3).then_some(()) },
    )
    .await;
    let polls = fake.with(|s| {
        s.unavailable = false;
        s.answered_304
    });
    let restored = (upstream.hits("a"), upstream.hits("b"));
    wait_for(
        Duration::from_secs(10),
        "the saved ETag confirmed",
        || async { (fake.with(|s| s.answered_304) > polls).then_some(()) },
    )
    .await;
    wait_for(
        Duration::from_secs(10),
        "the spool delivered after the 503s",
        || async {
            let got = (
                fake.delivered("a").len() as u64,
                fake.delivered("b").len() as u64,
            );
            (got.0 >= restored.0 && got.1 >= restored.1).then_some(())
        },
    )
    .await;
    let during_cut = fake
        .delivered("a")
        .iter()
        .filter(|o| (cut..stopped).contains(&o.at.millis()))
        .count();
    assert!(
        during_cut >= 4,
        "observations of the first run's cut: {during_cut}"
    );

    // The server is gone (connection refused), then back. It is taken down while it
    // refuses batches, so no acknowledgement is lost with the connections (a lost one would
    // be a legitimate replay, which this test counts as a duplicate).
    refuse_until_both_endpoints_saw_it(&fake).await;
    fake.close().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    fake.with(|s| s.unavailable = false);
    fake.reopen().await;
    let reopened = (upstream.hits("a"), upstream.hits("b"));
    wait_for(
        Duration::from_secs(15),
        "the spool delivered after the outage",
        || async {
            let got = (
                fake.delivered("a").len() as u64,
                fake.delivered("b").len() as u64,
            );
            (got.0 >= reopened.0 && got.1 >= reopened.1).then_some(())
        },
    )
    .await;

    // Stopped while the server refuses, so no batch is in flight: what is left stays spooled.
    refuse_until_both_endpoints_saw_it(&fake).await;
    let (code, log2) = node.terminate().await;
    assert_eq!(code, Some(0), "{log2}");

    // Every probe run was delivered once or is still in the spool; none twice; per probe
    // oldest first, every batch in order.
    for probe in ["a", "b"] {
        let delivered = fake.delivered(probe);
        let left = spooled(&spool, probe);
        assert_eq!(
            upstream.hits(probe),
            delivered.len() as u64 + left,
            "probe {probe}: runs = delivered + spooled ({left})"
        );
        assert!(
            delivered.windows(2).all(|w| w[0].at < w[1].at),
            "probe {probe} not oldest first"
        );
        assert!(delivered
            .iter()
            .all(|o| o.outcome == Outcome::Up && o.location == "eu"));
    }
    fake.with(|s| {
        assert_eq!((s.duplicates, s.unordered_batches, s.bad_auth), (0, 0, 0));
        let last = &s.reports.last().expect("reports").1;
        assert_eq!(last.spool_dropped, 0);
    });

    // One line per change of the link, however many attempts failed.
    let refused = fake.with(|s| s.post_503);
    assert!(refused >= 6, "several refused attempts: {refused}");
    assert_eq!(lines(&log1, "server reachable; sending"), 1, "{log1}");
    assert_eq!(lines(&log1, "server unreachable: HTTP 503"), 1, "{log1}");
    assert_eq!(
        lines(&log1, "probe assignment: cannot fetch (HTTP 503"),
        1,
        "{log1}"
    );
    // Second run: refused at start, back, refused then gone, back, refused at the end.
    assert_eq!(lines(&log2, "server unreachable: HTTP 503"), 3, "{log2}");
    assert_eq!(lines(&log2, "server reachable again; sending"), 2, "{log2}");
    assert_eq!(lines(&log2, "probe assignment: cannot fetch"), 3, "{log2}");
    assert_eq!(
        lines(&log2, "probing the assignment saved in the spool"),
        1,
        "{log2}"
    );
}

/// A batch the server refuses for good (a 422) is moved aside into the spool's `rejected`
/// table and logged once with the server's error; the spool goes on, later observations are
/// delivered, and every run is delivered, refused or still spooled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_is_moved_aside_and_never_blocks_the_spool() {
    let upstream = CountingUpstream::start().await;
    let fake = FakeServer::start(assignment(upstream.addr, &["a"])).await;
    fake.with(|s| s.refuse = Some(422));
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = dir.path().join("spool.sqlite");
    let node = Node::start(&fake.url(), &spool, dir.path().join("node.log"), false);
    wait_for(Duration::from_secs(10), "two refused batches", || async {
        (fake.with(|s| s.refused.iter().filter(|&&n| n > 0).count()) >= 2).then_some(())
    })
    .await;
    fake.with(|s| s.refuse = None);
    let made = upstream.hits("a");
    wait_for(
        Duration::from_secs(10),
        "later observations delivered",
        || async {
            let refused: usize = fake.with(|s| s.refused.iter().sum());
            let delivered = fake.delivered("a").len();
            (delivered > 0 && (delivered + refused) as u64 >= made).then_some(())
        },
    )
    .await;
    refuse_until_both_endpoints_saw_it(&fake).await;
    let (code, log) = node.terminate().await;
    assert_eq!(code, Some(0), "{log}");

    let refused = fake.with(|s| s.refused.clone());
    let refused_total: usize = refused.iter().sum();
    assert_eq!(rejected(&spool, "a"), refused_total as u64);
    let delivered = fake.delivered("a");
    assert_eq!(
        upstream.hits("a"),
        delivered.len() as u64 + refused_total as u64 + spooled(&spool, "a"),
        "runs = delivered + refused + spooled"
    );
    assert_eq!(fake.with(|s| s.duplicates), 0);
    // One error line per refused batch (an empty heartbeat only when its refusal is new).
    let logged = refused.iter().filter(|&&n| n > 0).count() + usize::from(refused[0] == 0);
    assert_eq!(
        lines(
            &log,
            "for good (HTTP 422: observations[0].at: 9 s in the server's future)"
        ),
        logged,
        "{log}"
    );
    // The server answered all along: the link never changed until the final 503s.
    assert_eq!(lines(&log, "server reachable; sending"), 1, "{log}");
    assert_eq!(lines(&log, "server unreachable:"), 1, "{log}");
}
