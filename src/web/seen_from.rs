//! The status page's one line on how each location sees a channel probed from several places
//! ("Down from 2 of 3 locations: EU West, US East"), so a reader can tell a regional outage
//! from a global one and see why the quorum state (sla-rules section 3 rule 10) is what it is.

use crate::domain::{Config, State};
use crate::probe::LocationStatus;

/// Longest line, in characters, that still carries the regions; past it the regions go, so a
/// channel with many locations keeps a line that reads at a glance.
const MAX_WITH_REGIONS: usize = 120;

/// The states the line names, worst first; up is what the line leaves out.
const LISTED: [(State, &str); 5] = [
    (State::Down, "Down"),
    (State::Partial, "Partial outage"),
    (State::Degraded, "Degraded"),
    (State::Maintenance, "Under maintenance"),
    (State::Unknown, "Not reported"),
];

/// One location's view of a channel, with the names the page shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct SeenAt<'a> {
    pub state: State,
    /// The location's display name.
    pub name: &'a str,
    /// The location's free-text region, if the configuration gives one.
    pub region: Option<&'a str>,
}

impl<'a> SeenAt<'a> {
    /// A live-view location with its name and region from `config` (the id when undeclared).
    pub fn from_status(status: &'a LocationStatus, config: &'a Config) -> SeenAt<'a> {
        let declared = config.location(&status.id);
        SeenAt {
            state: status.state,
            name: declared.map_or(status.id.as_str(), |l| l.name.as_str()),
            region: declared.and_then(|l| l.region.as_deref()),
        }
    }
}

/// The line for a channel seen from `locations` (in the configuration's order): one phrase
/// per state other than up, worst first, joined into sentences. `None` for a channel probed
/// from fewer than two places, and when every location sees it up.
pub(super) fn seen_from(locations: &[SeenAt<'_>]) -> Option<String> {
    if locations.len() < 2 || locations.iter().all(|l| l.state == State::Up) {
        return None;
    }
    let with_regions = line(locations, true);
    if with_regions.chars().count() <= MAX_WITH_REGIONS {
        Some(with_regions)
    } else {
        Some(line(locations, false))
    }
}

fn line(locations: &[SeenAt<'_>], regions: bool) -> String {
    let total = locations.len();
    LISTED
        .iter()
        .filter_map(|&(state, label)| {
            let names: Vec<String> = locations
                .iter()
                .filter(|l| l.state == state)
                .map(|l| match l.region {
                    Some(region) if regions && !region.is_empty() => {
                        format!("{} ({region})", l.name)
                    }
                    _ => l.name.to_owned(),
                })
                .collect();
            (!names.is_empty()).then(|| {
                format!(
                    "{label} from {} of {total} locations: {}",
                    names.len(),
                    names.join(", ")
                )
            })
        })
        .collect::<Vec<_>>()
        .join(". ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::{Degraded, Down, Partial, Unknown, Up};

    const NAMES: [&str; 3] = ["Local", "EU West", "US East"];

    /// Three locations without regions, in the given states.
    fn three(states: [State; 3]) -> Vec<SeenAt<'static>> {
        states
            .iter()
            .zip(NAMES)
            .map(|(&state, name)| SeenAt {
                state,
                name,
                region: None,
            })
            .collect()
    }

    #[test]
    fn three_locations_say_which_see_the_channel_how() {
        let rows: [([State; 3], Option<&str>); 12] = [
            ([Up, Up, Up], None),
            (
                [Up, Down, Down],
                Some("Down from 2 of 3 locations: EU West, US East"),
            ),
            ([Up, Up, Down], Some("Down from 1 of 3 locations: US East")),
            (
                [Down, Down, Down],
                Some("Down from 3 of 3 locations: Local, EU West, US East"),
            ),
            (
                [Up, Up, Degraded],
                Some("Degraded from 1 of 3 locations: US East"),
            ),
            (
                [Up, Unknown, Up],
                Some("Not reported from 1 of 3 locations: EU West"),
            ),
            (
                [Unknown, Unknown, Unknown],
                Some("Not reported from 3 of 3 locations: Local, EU West, US East"),
            ),
            (
                [Degraded, Down, Up],
                Some("Down from 1 of 3 locations: EU West. Degraded from 1 of 3 locations: Local"),
            ),
            (
                [Unknown, Degraded, Down],
                Some(
                    "Down from 1 of 3 locations: US East. Degraded from 1 of 3 locations: \
                     EU West. Not reported from 1 of 3 locations: Local",
                ),
            ),
            (
                [Down, Unknown, Down],
                Some(
                    "Down from 2 of 3 locations: Local, US East. Not reported from 1 of 3 \
                     locations: EU West",
                ),
            ),
            (
                [Partial, Up, Up],
                Some("Partial outage from 1 of 3 locations: Local"),
            ),
            (
                [Degraded, Partial, Down],
                Some(
                    "Down from 1 of 3 locations: US East. Partial outage from 1 of 3 \
                     locations: EU West. Degraded from 1 of 3 locations: Local",
                ),
            ),
        ];
        for (states, expected) in rows {
            assert_eq!(seen_from(&three(states)).as_deref(), expected, "{states:?}");
        }
    }

    #[test]
    fn one_location_or_none_gives_no_line_whatever_it_sees() {
        for state in [Up, Degraded, Down, Unknown] {
            let one = [SeenAt {
                state,
                name: "Local",
                region: Some("Berlin"),
            }];
            assert_eq!(seen_from(&one), None, "{state:?}");
        }
        assert_eq!(seen_from(&[]), None);
    }

    #[test]
    fn regions_follow_their_names_in_parentheses_when_set() {
        let locations = [
            SeenAt {
                state: Up,
                name: "Local",
                region: Some("Berlin"),
            },
            SeenAt {
                state: Down,
                name: "EU West",
                region: Some("Frankfurt"),
            },
            SeenAt {
                state: Down,
                name: "US East",
                region: None,
            },
            SeenAt {
                state: Unknown,
                name: "Asia",
                region: Some(""),
            },
        ];
        assert_eq!(
            seen_from(&locations).as_deref(),
            Some(
                "Down from 2 of 4 locations: EU West (Frankfurt), US East. \
                 Not reported from 1 of 4 locations: Asia"
            )
        );
    }

    #[test]
    fn regions_are_left_out_when_the_line_would_grow_too_long() {
        let regions = [
            "Frankfurt am Main, Hesse",
            "Ashburn, Virginia",
            "Singapore, Central",
        ];
        let names = ["EU West", "US East", "Asia South"];
        let locations: Vec<SeenAt> = names
            .iter()
            .zip(regions)
            .map(|(&name, region)| SeenAt {
                state: Down,
                name,
                region: Some(region),
            })
            .chain(std::iter::once(SeenAt {
                state: Degraded,
                name: "Local",
                region: Some("Berlin, Brandenburg"),
            }))
            .collect();
        let with_regions = line(&locations, true);
        assert!(
            with_regions.chars().count() > MAX_WITH_REGIONS,
            "the case must be too long: {with_regions}"
        );
        assert_eq!(
            seen_from(&locations).as_deref(),
            Some(
                "Down from 3 of 4 locations: EU West, US East, Asia South. \
                 Degraded from 1 of 4 locations: Local"
            )
        );
    }
}
