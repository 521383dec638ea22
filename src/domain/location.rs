//! Where probes run from (sla-rules section 3 rule 10): the server's own prober and the
//! prober-only nodes declared with `[[location]]`.

use serde::{Deserialize, Serialize};

/// One place probes run from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Stable identifier stored with every observation (`eu-west`).
    pub id: String,
    /// What the page calls it (`EU West`); the id when not given.
    pub name: String,
    /// Optional free text shown beside the name (`Frankfurt`).
    pub region: Option<String>,
}

impl super::Config {
    /// A declared location by id (the server's own is always declared, first).
    pub fn location(&self, id: &str) -> Option<&Location> {
        self.locations.iter().find(|l| l.id == id)
    }

    /// The display name of a location id, the id itself when it is not declared (any more).
    pub fn location_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.location(id).map_or(id, |l| l.name.as_str())
    }

    /// Every probe assigned to `location`, with its channel id.
    pub fn probes_at<'a>(
        &'a self,
        location: &'a str,
    ) -> impl Iterator<Item = (&'a super::Channel, &'a super::ProbeSpec)> + 'a {
        self.channels.iter().flat_map(move |c| {
            c.probes
                .iter()
                .filter(move |p| p.locations.iter().any(|l| l == location))
                .map(move |p| (c, p))
        })
    }
}
