use super::*;

#[test]
fn backoff_doubles_to_its_cap_and_resets() {
    let ms = Duration::from_millis;
    let rows = [
        (
            ms(500),
            ms(15_000),
            vec![500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000],
        ),
        (
            ms(1_000),
            ms(30_000),
            vec![1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000],
        ),
    ];
    for (base, max, want) in rows {
        let mut backoff = Backoff::new(base, max);
        let got: Vec<u128> = want.iter().map(|_| backoff.fail().as_millis()).collect();
        assert_eq!(got, want.iter().map(|&w| w as u128).collect::<Vec<_>>());
        backoff.reset();
        assert_eq!(backoff.fail(), base);
    }
}

#[test]
fn a_batch_is_due_by_backlog_last_send_and_retry() {
    let t0 = Instant::now();
    let s = Duration::from_secs;
    let ms = Duration::from_millis;
    let full = BATCH_MAX as u64;
    // (last_sent, retry_at, now, backlog, due)
    type Row = (Option<Instant>, Option<Instant>, Instant, u64, Instant);
    let rows: Vec<Row> = vec![
        // The first attempt goes at once, even empty (the first heartbeat).
        (None, None, t0, 0, t0),
        (None, None, t0, 5, t0),
        // Something waits: a second after the last batch.
        (Some(t0), None, t0 + ms(300), 5, t0 + s(1)),
        (Some(t0), None, t0 + s(3), 5, t0 + s(1)),
        // A full batch waits: at once.
        (Some(t0), None, t0 + ms(10), full, t0 + ms(10)),
        (Some(t0), None, t0 + ms(10), full + 1, t0 + ms(10)),
        // Nothing waits: the heartbeat.
        (Some(t0), None, t0 + s(2), 0, t0 + s(10)),
        // After a failure: not before the retry, whatever waits.
        (Some(t0), Some(t0 + s(4)), t0 + s(2), full, t0 + s(4)),
        (None, Some(t0 + s(4)), t0, 0, t0 + s(4)),
        // A retry whose time came is due (in the past), even with a heartbeat not due.
        (Some(t0), Some(t0 + s(4)), t0 + s(5), 0, t0 + s(4)),
        (Some(t0), Some(t0 + s(4)), t0 + s(5), 3, t0 + s(4)),
    ];
    for (i, (last_sent, retry_at, now, backlog, want)) in rows.into_iter().enumerate() {
        let cadence = Cadence {
            last_sent,
            retry_at,
        };
        assert_eq!(cadence.due(now, backlog), want, "row {i}");
    }
}

#[test]
fn answers_are_delivered_retried_or_refused() {
    let rows = [
        (200, "", Verdict::Delivered),
        (204, "", Verdict::Delivered),
        (500, "boom", Verdict::Retry("HTTP 500: boom".into())),
        (503, "", Verdict::Retry("HTTP 503".into())),
        (502, "", Verdict::Retry("HTTP 502".into())),
        (408, "", Verdict::Retry("HTTP 408".into())),
        (
            429,
            "slow down",
            Verdict::Retry("HTTP 429: slow down".into()),
        ),
        (
            401,
            "bad token",
            Verdict::Retry("HTTP 401: bad token".into()),
        ),
        (
            400,
            "bad json",
            Verdict::Refused("HTTP 400: bad json".into()),
        ),
        (
            403,
            "not yours",
            Verdict::Refused("HTTP 403: not yours".into()),
        ),
        (413, "", Verdict::Refused("HTTP 413".into())),
        (422, "skew", Verdict::Refused("HTTP 422: skew".into())),
        (404, "", Verdict::Refused("HTTP 404".into())),
        (302, "", Verdict::Retry("HTTP 302".into())),
    ];
    for (status, message, want) in rows {
        assert_eq!(classify(status, message), want, "{status}");
    }
}

#[test]
fn the_link_is_logged_once_per_change() {
    let ok = || Ok(());
    let err = |w: &str| Err(w.to_string());
    type Row = (Vec<Result<(), String>>, Vec<Option<LinkChange>>);
    let rows: Vec<Row> = vec![
        (vec![ok(), ok()], vec![Some(LinkChange::Reached), None]),
        (
            vec![err("connect: refused"), err("HTTP 503"), ok(), ok()],
            vec![
                Some(LinkChange::Lost("connect: refused".into())),
                None,
                Some(LinkChange::Restored),
                None,
            ],
        ),
        (
            vec![ok(), err("HTTP 503"), err("HTTP 503"), ok(), err("timeout")],
            vec![
                Some(LinkChange::Reached),
                Some(LinkChange::Lost("HTTP 503".into())),
                None,
                Some(LinkChange::Restored),
                Some(LinkChange::Lost("timeout".into())),
            ],
        ),
    ];
    for (attempts, want) in rows {
        let mut link = Link::default();
        let got: Vec<_> = attempts.into_iter().map(|a| link.record(a)).collect();
        assert_eq!(got, want);
    }
}

#[test]
fn the_servers_error_is_taken_from_its_json() {
    let rows = [
        (
            r#"{"error": "probe web/a is not assigned to eu", "field": null}"#,
            "probe web/a is not assigned to eu",
        ),
        ("plain text\n", "plain text"),
        ("", ""),
        (r#"{"other": 1}"#, r#"{"other": 1}"#),
    ];
    for (body, want) in rows {
        assert_eq!(server_error(body), want);
    }
    assert_eq!(server_error(&"x".repeat(500)).len(), 200);
}
