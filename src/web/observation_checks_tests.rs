use super::*;
use crate::domain::remote::ProberReport;
use crate::domain::{Outcome, ProbeKey, Thresholds};
use axum::http::StatusCode;

const CONFIG: &str = "[service]\nlocation = \"fra\"\n\
    [[location]]\nid = \"eu-west\"\n[[location]]\nid = \"us-east\"\n\
    [[channel]]\nid = \"web\"\nname = \"Web\"\n\
    [[channel.probe]]\nname = \"home\"\nurl = \"https://example.com/\"\nlocations = [\"eu-west\", \"us-east\"]\n\
    [[channel.probe]]\nname = \"inside\"\nurl = \"https://example.com/in\"\n\
    [[channel]]\nid = \"api\"\nname = \"API\"\n\
    [[channel.probe]]\nname = \"ping\"\nurl = \"https://example.com/api\"\nlocations = [\"us-east\"]\n";

/// The server's "now" in every row: 2026-12-01T00:00:00Z.
const NOW: Timestamp = Timestamp(1_796_083_200_000);

fn good() -> Observation {
    Observation {
        probe: ProbeKey {
            channel: "web".into(),
            probe: "home".into(),
        },
        at: Timestamp(NOW.0 - 1_000),
        outcome: Outcome::Up,
        status_code: Some(200),
        response_ms: Some(12),
        reason: None,
        location: "eu-west".into(),
        interval_ms: 30_000,
        lateness_ms: 3,
        thresholds: Thresholds {
            failure: 3,
            success: 2,
        },
    }
}

fn batch(observations: Vec<Observation>) -> ObservationBatch {
    ObservationBatch {
        observations,
        prober: ProberReport {
            version: "0.1.0".into(),
            sent_at: NOW,
            spool_backlog: 0,
            spool_dropped: 0,
        },
    }
}

/// The status, the field and the message of a refusal; `None` when accepted.
fn refusal(result: Result<(), Error>) -> Option<(StatusCode, Option<String>, String)> {
    let error = result.err()?;
    let field = match &error {
        Error::Invalid { field, .. } | Error::ForbiddenField { field, .. } => Some(field.clone()),
        _ => None,
    };
    Some((error.status_code(), field, error.to_string()))
}

#[test]
fn each_observation_field_is_bounded() {
    let config = crate::config::parse("t.toml", CONFIG).expect("valid config");
    type Change = fn(&mut Observation);
    /// The status, field and a fragment of the message of a refusal.
    type Refused = Option<(StatusCode, &'static str, &'static str)>;
    let table: Vec<(&str, Change, Refused)> = vec![
        ("good", |_| {}, None),
        (
            "at exactly 5 s ahead",
            |o| o.at = Timestamp(NOW.0 + 5_000),
            None,
        ),
        (
            "at 5001 ms ahead",
            |o| o.at = Timestamp(NOW.0 + 5_001),
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].at",
                "5001 ms in the server's future",
            )),
        ),
        (
            "at 6 s ahead",
            |o| o.at = Timestamp(NOW.0 + 6_000),
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].at",
                "6000 ms",
            )),
        ),
        ("at 2000-01-01", |o| o.at = EARLIEST_ACCEPTED, None),
        (
            "at before 2000",
            |o| o.at = Timestamp(EARLIEST_ACCEPTED.0 - 1),
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].at",
                "before 2000-01-01",
            )),
        ),
        (
            "at far in the past",
            |o| o.at = Timestamp(i64::MIN),
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].at",
                "before 2000-01-01",
            )),
        ),
        (
            "at far in the future",
            |o| o.at = Timestamp(i64::MAX),
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].at",
                "in the server's future",
            )),
        ),
        (
            "interval 0",
            |o| o.interval_ms = 0,
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].interval_ms",
                "from 1 ms to 24 h",
            )),
        ),
        ("interval 1 ms", |o| o.interval_ms = 1, None),
        ("interval 24 h", |o| o.interval_ms = 86_400_000, None),
        (
            "interval 24 h + 1 ms",
            |o| o.interval_ms = 86_400_001,
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].interval_ms",
                "from 1 ms to 24 h",
            )),
        ),
        (
            "failure threshold 0",
            |o| o.thresholds.failure = 0,
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].thresholds.failure",
                "from 1 to 1000",
            )),
        ),
        (
            "success threshold 1001",
            |o| o.thresholds.success = 1_001,
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].thresholds.success",
                "from 1 to 1000",
            )),
        ),
        (
            "thresholds 1 and 1000",
            |o| {
                o.thresholds = Thresholds {
                    failure: 1,
                    success: 1_000,
                }
            },
            None,
        ),
        (
            "reason of 500 characters",
            |o| o.reason = Some("é".repeat(500)),
            None,
        ),
        (
            "reason of 501 characters",
            |o| o.reason = Some("x".repeat(501)),
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].reason",
                "at most 500 characters",
            )),
        ),
        (
            "reason with NUL",
            |o| o.reason = Some("a\0b".into()),
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].reason",
                "NUL",
            )),
        ),
        (
            "status 99",
            |o| o.status_code = Some(99),
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].status_code",
                "from 100 to 599",
            )),
        ),
        ("status 100", |o| o.status_code = Some(100), None),
        ("status 599", |o| o.status_code = Some(599), None),
        (
            "status 600",
            |o| o.status_code = Some(600),
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].status_code",
                "from 100 to 599",
            )),
        ),
        ("no status", |o| o.status_code = None, None),
        (
            "another location",
            |o| o.location = "us-east".into(),
            Some((
                StatusCode::FORBIDDEN,
                "observations[1].location",
                "not this token's location \"eu-west\"",
            )),
        ),
        (
            "the server's own location",
            |o| o.location = "fra".into(),
            Some((
                StatusCode::FORBIDDEN,
                "observations[1].location",
                "not this token's location",
            )),
        ),
        (
            "a probe of another location",
            |o| {
                o.probe = ProbeKey {
                    channel: "api".into(),
                    probe: "ping".into(),
                }
            },
            Some((
                StatusCode::FORBIDDEN,
                "observations[1].probe",
                "api/ping is not assigned to location \"eu-west\"",
            )),
        ),
        (
            "a probe of the server's own",
            |o| o.probe.probe = "inside".into(),
            Some((
                StatusCode::FORBIDDEN,
                "observations[1].probe",
                "web/inside is not assigned",
            )),
        ),
        (
            "an unknown probe",
            |o| o.probe.probe = "nope".into(),
            Some((
                StatusCode::FORBIDDEN,
                "observations[1].probe",
                "web/nope is not a configured probe",
            )),
        ),
        (
            "an unknown channel",
            |o| o.probe.channel = "nope".into(),
            Some((
                StatusCode::FORBIDDEN,
                "observations[1].probe",
                "nope/home is not a configured probe",
            )),
        ),
        (
            "an overlong channel id",
            |o| o.probe.channel = "c".repeat(201),
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].probe.channel",
                "at most 200",
            )),
        ),
        (
            "an overlong location",
            |o| o.location = "l".repeat(201),
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "observations[1].location",
                "at most 200",
            )),
        ),
        (
            "down with a reason",
            |o| {
                o.outcome = Outcome::Down;
                o.reason = Some("HTTP 503".into());
            },
            None,
        ),
    ];
    for (name, change, expected) in table {
        let mut changed = good();
        change(&mut changed);
        // The changed observation second: the index in the field is its own.
        let result = check_observations(
            &batch(vec![good(), changed, good()]),
            "eu-west",
            &config,
            NOW,
        );
        let got = refusal(result);
        match (expected, got) {
            (None, None) => {}
            (Some((status, field, fragment)), Some((got_status, got_field, message))) => {
                assert_eq!(got_status, status, "{name}: {message}");
                assert_eq!(got_field.as_deref(), Some(field), "{name}: {message}");
                assert!(
                    message.contains(fragment),
                    "{name}: {message:?} lacks {fragment:?}"
                );
                assert!(
                    message.starts_with(field),
                    "{name}: {message:?} names its field first"
                );
            }
            (expected, got) => panic!("{name}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn the_first_bad_observation_is_named_and_batch_size_is_bounded() {
    let config = crate::config::parse("t.toml", CONFIG).expect("valid config");
    let mut late = good();
    late.interval_ms = 0;
    let mut ahead = good();
    ahead.at = Timestamp(NOW.0 + 60_000);
    let got = refusal(check_observations(
        &batch(vec![good(), good(), good(), ahead, late]),
        "eu-west",
        &config,
        NOW,
    ));
    assert_eq!(got.and_then(|g| g.1).as_deref(), Some("observations[3].at"));

    let table = [
        (0, None),
        (MAX_BATCH, None),
        (MAX_BATCH + 1, Some(StatusCode::PAYLOAD_TOO_LARGE)),
    ];
    for (count, expected) in table {
        let got = refusal(check_observations(
            &batch(vec![good(); count]),
            "eu-west",
            &config,
            NOW,
        ));
        assert_eq!(
            got.as_ref().map(|g| g.0),
            expected,
            "{count} observations: {got:?}"
        );
    }
    // The other location's token sees its own probes: api/ping is assigned there.
    let mut there = good();
    there.location = "us-east".into();
    there.probe = ProbeKey {
        channel: "api".into(),
        probe: "ping".into(),
    };
    assert_eq!(
        refusal(check_observations(
            &batch(vec![there]),
            "us-east",
            &config,
            NOW
        )),
        None
    );
}

#[test]
fn the_version_is_bounded_text() {
    let table = [
        ("0.1.0".to_owned(), None),
        ("v".repeat(200), None),
        ("v".repeat(201), Some("prober.version")),
        ("1\0".to_owned(), Some("prober.version")),
    ];
    for (version, field) in table {
        let mut b = batch(vec![]);
        b.prober.version = version.clone();
        let got = refusal(check_report(&b)).and_then(|g| g.1);
        assert_eq!(got.as_deref(), field, "{version:?}");
    }
}
