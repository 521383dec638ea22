//! What a prober node and its server exchange over HTTP (sla-rules section 3 rule 10): the
//! probes assigned to a location, and batches of observations made there.
//!
//! `GET /api/v1/locations/{id}/probes` answers a [`ProbeAssignment`] (with an `ETag`, so a node
//! polls cheaply and follows the server's reloads); `POST /api/v1/observations` takes an
//! [`ObservationBatch`] and answers [`BatchAccepted`]. Both ends use these types, so the
//! format has one definition.

use super::{Observation, ProbeSpec, Timestamp};
use serde::{Deserialize, Serialize};

/// The probes one location runs, as the server's configuration says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeAssignment {
    pub location: String,
    pub probes: Vec<AssignedProbe>,
}

/// One probe of a channel, as configured on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignedProbe {
    pub channel: String,
    pub spec: ProbeSpec,
}

/// Observations made at one location, oldest first, with what the node says of itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservationBatch {
    pub observations: Vec<Observation>,
    pub prober: ProberReport,
}

/// A prober node's own account, sent with every batch (an empty batch is a heartbeat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProberReport {
    /// `beacon --version` of the node.
    pub version: String,
    /// The node's clock when it sent the batch: the server's receipt time minus this is
    /// the node's clock offset (plus the one-way network delay).
    pub sent_at: Timestamp,
    /// Observations waiting in its spool after this batch.
    pub spool_backlog: u64,
    /// Observations it had to drop from a full spool since it started.
    pub spool_dropped: u64,
}

/// The server's answer to a batch: new observations, and replays it already had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAccepted {
    pub accepted: usize,
    pub duplicates: usize,
}

/// `Duration` as integer milliseconds on the wire.
pub(super) mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_probe_travels_and_comes_back_equal() {
        let text = "[service]\nlocation = \"fra\"\n[[location]]\nid = \"eu\"\n\
                    [[channel]]\nid = \"web\"\nname = \"Web\"\n\
                    [[channel.probe]]\nname = \"home\"\nurl = \"https://example.com/\"\nevery = \"30s\"\n\
                    locations = [\"fra\", \"eu\"]\nconditions = [\"[STATUS] == 200\", \"[BODY] == pat(*ok*)\"]\n\
                    degraded_if = [\"[RESPONSE_TIME] > 800\"]\nheaders = { Authorization = \"Bearer x\" }\n\
                    [[channel.probe]]\nname = \"dns\"\ndns = \"example.com\"\nrecord = \"MX\"\ncron = \"0 */5 * * * *\"\n\
                    [[channel.probe]]\nname = \"port\"\nurl = \"tcp://example.com:25\"\nexpect = \"220\"\n";
        let config = crate::config::parse("t.toml", text).expect("valid");
        let assignment = ProbeAssignment {
            location: "eu".into(),
            probes: config.channels[0]
                .probes
                .iter()
                .map(|spec| AssignedProbe {
                    channel: "web".into(),
                    spec: spec.clone(),
                })
                .collect(),
        };
        let json = serde_json::to_string(&assignment).expect("serializes");
        assert!(json.contains("\"timeout_ms\":10000"), "{json}");
        assert!(json.contains("\"[STATUS] == 200\""), "{json}");
        let back: ProbeAssignment = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, assignment);
        let bad = json.replace("[STATUS] == 200", "[STATUS] ==");
        let error = serde_json::from_str::<ProbeAssignment>(&bad).expect_err("bad condition");
        assert!(error.to_string().contains("condition"), "{error}");
    }
}
