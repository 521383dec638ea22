//! The OpenAPI shapes of the prober endpoints' bodies. The wire types live in
//! `domain::remote` (the prober node shares them) and know nothing of utoipa, so these
//! documentation-only mirrors describe them, with the bounds `observation_checks` enforces;
//! the test below keeps their field names equal to what serde writes.

#![allow(dead_code)] // documentation only: the bodies are the `domain::remote` types

use utoipa::ToSchema;

/// The probes a location runs.
#[derive(ToSchema)]
#[schema(as = ProbeAssignment)]
pub(super) struct AssignmentDoc {
    location: String,
    probes: Vec<AssignedDoc>,
}

/// One configured probe and its channel.
#[derive(ToSchema)]
#[schema(as = AssignedProbe)]
pub(super) struct AssignedDoc {
    channel: String,
    /// The probe as the server's configuration has it: name, target, schedule, timeout
    /// (`timeout_ms`), thresholds, conditions, locations, quorum (what `beacon probe` runs).
    #[schema(value_type = Object)]
    spec: (),
}

/// Observations made at one location, oldest first, and the node's report of itself.
#[derive(ToSchema)]
#[schema(as = ObservationBatch)]
pub(super) struct BatchDoc {
    #[schema(max_items = 2000)]
    observations: Vec<ObservationDoc>,
    prober: ReportDoc,
}

/// One probe run at the node's location.
#[derive(ToSchema)]
#[schema(as = RemoteObservation)]
pub(super) struct ObservationDoc {
    probe: ProbeKeyDoc,
    /// Start of the run, epoch milliseconds; at most 5 s in the server's future.
    #[schema(minimum = 946684800000_i64)]
    at: i64,
    outcome: OutcomeDoc,
    #[schema(minimum = 100, maximum = 599)]
    status_code: Option<u16>,
    response_ms: Option<u32>,
    /// Short failure reason (`HTTP 503`, `connect: refused`).
    #[schema(max_length = 500, pattern = r"^[^\u0000]*$")]
    reason: Option<String>,
    /// The token's location.
    #[schema(max_length = 200, pattern = r"^[^\u0000]*$")]
    location: String,
    /// The probe's interval when the run was made (1 ms to 24 h).
    #[schema(minimum = 1, maximum = 86400000)]
    interval_ms: u64,
    lateness_ms: u32,
    thresholds: ThresholdsDoc,
}

/// A probe: channel id and probe name, assigned to the token's location.
#[derive(ToSchema)]
#[schema(as = RemoteProbeKey)]
pub(super) struct ProbeKeyDoc {
    #[schema(max_length = 200, pattern = r"^[^\u0000]*$")]
    channel: String,
    #[schema(max_length = 200, pattern = r"^[^\u0000]*$")]
    probe: String,
}

/// The thresholds in force for the run.
#[derive(ToSchema)]
#[schema(as = RemoteThresholds)]
pub(super) struct ThresholdsDoc {
    #[schema(minimum = 1, maximum = 1000)]
    failure: u32,
    #[schema(minimum = 1, maximum = 1000)]
    success: u32,
}

/// What one run saw.
#[derive(ToSchema)]
#[schema(as = RemoteOutcome, rename_all = "lowercase")]
pub(super) enum OutcomeDoc {
    Up,
    Degraded,
    Down,
    Unknown,
}

/// The node's account of itself.
#[derive(ToSchema)]
#[schema(as = ProberReport)]
pub(super) struct ReportDoc {
    /// `beacon --version` of the node.
    #[schema(max_length = 200, pattern = r"^[^\u0000]*$")]
    version: String,
    /// The node's clock when it sent the batch, epoch milliseconds.
    sent_at: i64,
    spool_backlog: u64,
    spool_dropped: u64,
}

/// New observations stored, and replays already there.
#[derive(ToSchema)]
#[schema(as = BatchAccepted)]
pub(super) struct AcceptedDoc {
    accepted: u64,
    duplicates: u64,
}

#[cfg(test)]
mod tests {
    use crate::domain::remote::{BatchAccepted, ObservationBatch, ProberReport};
    use crate::domain::{Observation, Outcome, ProbeKey, Thresholds, Timestamp};
    use serde_json::Value;
    use std::collections::BTreeSet;

    /// The property names of schema `name` in the document.
    fn properties(document: &Value, name: &str) -> BTreeSet<String> {
        document["components"]["schemas"][name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} in the document"))
            .keys()
            .cloned()
            .collect()
    }

    fn keys(value: &Value) -> BTreeSet<String> {
        value
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn documented_fields_are_the_wire_fields() {
        let document =
            serde_json::to_value(crate::web::openapi::document()).expect("document as JSON");
        let batch = ObservationBatch {
            observations: vec![Observation {
                probe: ProbeKey {
                    channel: "web".into(),
                    probe: "home".into(),
                },
                at: Timestamp(1_000),
                outcome: Outcome::Degraded,
                status_code: Some(200),
                response_ms: Some(5),
                reason: Some("slow".into()),
                location: "eu".into(),
                interval_ms: 1_000,
                lateness_ms: 0,
                thresholds: Thresholds {
                    failure: 1,
                    success: 1,
                },
            }],
            prober: ProberReport {
                version: "1".into(),
                sent_at: Timestamp(2_000),
                spool_backlog: 0,
                spool_dropped: 0,
            },
        };
        let wire = serde_json::to_value(&batch).expect("batch as JSON");
        let observation = &wire["observations"][0];
        let accepted = serde_json::to_value(BatchAccepted {
            accepted: 1,
            duplicates: 0,
        })
        .expect("answer as JSON");
        let table = [
            ("ObservationBatch", keys(&wire)),
            ("RemoteObservation", keys(observation)),
            ("RemoteProbeKey", keys(&observation["probe"])),
            ("RemoteThresholds", keys(&observation["thresholds"])),
            ("ProberReport", keys(&wire["prober"])),
            ("BatchAccepted", keys(&accepted)),
            (
                "ProbeAssignment",
                ["location", "probes"].map(String::from).into(),
            ),
            (
                "AssignedProbe",
                ["channel", "spec"].map(String::from).into(),
            ),
        ];
        for (name, expected) in table {
            assert_eq!(properties(&document, name), expected, "{name}");
        }
        assert_eq!(
            document["components"]["schemas"]["RemoteOutcome"]["enum"],
            serde_json::json!(["up", "degraded", "down", "unknown"])
        );
    }
}
