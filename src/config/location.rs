//! `[[location]]`, `[service] default_locations` and a probe's `locations` and `quorum`
//! (sla-rules section 3 rule 10).

use super::validate::{integer_in, non_empty};
use super::{ConfigError, Source};
use crate::domain::Location;
use crate::sla::default_quorum;
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLocation {
    pub id: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
}

/// The declared locations and the default set, checked; what probes are checked against.
pub(super) struct Places {
    pub locations: Vec<Location>,
    pub defaults: Vec<String>,
}

/// A location id: the same alphabet as channel ids, since it appears in URLs and metrics.
pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl Places {
    /// The server's own location alone (the default set of a push probe).
    pub(super) fn only_own(&self) -> Places {
        Places {
            locations: self.locations[..1].to_vec(),
            defaults: vec![self.locations[0].id.clone()],
        }
    }
}

/// The server's own location first (named by a `[[location]]` of the same id if there is
/// one), then the others in file order; then `default_locations` checked against them.
pub(super) fn places(
    own: &str,
    raw: Vec<Spanned<RawLocation>>,
    default_locations: Option<Spanned<Vec<Spanned<String>>>>,
    src: &Source<'_>,
) -> Result<Places, ConfigError> {
    let mut locations = vec![Location {
        id: own.to_owned(),
        name: own.to_owned(),
        region: None,
    }];
    let mut declared_own = false;
    for table in raw {
        let table = table.into_inner();
        let id = table.id.get_ref();
        if !valid_id(id) {
            return Err(src.error(
                table.id.span(),
                format!("invalid location id \"{id}\": use lowercase letters, digits, '-' and '_' (at most 64)"),
            ));
        }
        let name = non_empty(table.name, "name", src)?.unwrap_or_else(|| id.clone());
        let region = non_empty(table.region, "region", src)?;
        let location = Location {
            id: id.clone(),
            name,
            region,
        };
        if id == own {
            if declared_own {
                return Err(src.error(table.id.span(), format!("duplicate location id \"{id}\"")));
            }
            declared_own = true;
            locations[0] = location;
        } else if locations.iter().any(|l| &l.id == id) {
            return Err(src.error(table.id.span(), format!("duplicate location id \"{id}\"")));
        } else {
            locations.push(location);
        }
    }
    let defaults = match default_locations {
        Some(list) => location_list(list, "default_locations", &locations, src)?,
        None => vec![own.to_owned()],
    };
    Ok(Places {
        locations,
        defaults,
    })
}

/// A list of location ids: non-empty, each declared, none twice.
fn location_list(
    list: Spanned<Vec<Spanned<String>>>,
    key: &str,
    locations: &[Location],
    src: &Source<'_>,
) -> Result<Vec<String>, ConfigError> {
    let span = list.span();
    let list = list.into_inner();
    if list.is_empty() {
        return Err(src.error(span, format!("{key} must name at least one location")));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        let id = item.get_ref();
        if !locations.iter().any(|l| &l.id == id) {
            let known: Vec<&str> = locations.iter().map(|l| l.id.as_str()).collect();
            return Err(src.error(
                item.span(),
                format!(
                    "unknown location \"{id}\" in {key}: declared are {} (add a [[location]] table with this id)",
                    known.join(", ")
                ),
            ));
        }
        if out.contains(id) {
            return Err(src.error(
                item.span(),
                format!("location \"{id}\" is named twice in {key}"),
            ));
        }
        out.push(item.into_inner());
    }
    Ok(out)
}

/// A probe's `locations` (default: the default set) and `quorum` (default: a majority).
pub(super) fn probe_places(
    raw_locations: Option<Spanned<Vec<Spanned<String>>>>,
    raw_quorum: Option<Spanned<i64>>,
    places: &Places,
    src: &Source<'_>,
) -> Result<(Vec<String>, usize), ConfigError> {
    let locations = match raw_locations {
        Some(list) => location_list(list, "locations", &places.locations, src)?,
        None => places.defaults.clone(),
    };
    let n = locations.len();
    if let Some(q) = &raw_quorum {
        if *q.get_ref() < 1 || usize::try_from(*q.get_ref()).is_ok_and(|k| k > n) {
            return Err(src.error(
                q.span(),
                format!(
                    "quorum = {} is out of range: from 1 to the probe's {n} location{} ({})",
                    q.get_ref(),
                    if n == 1 { "" } else { "s" },
                    locations.join(", ")
                ),
            ));
        }
    }
    let quorum = integer_in(raw_quorum, "quorum", 1, n, src)?.unwrap_or(default_quorum(n));
    Ok((locations, quorum))
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    const CHANNEL: &str = "[[channel]]\nid = \"web\"\nname = \"Web\"\n";

    fn with_probe(extra_top: &str, probe: &str) -> String {
        format!("{extra_top}{CHANNEL}[[channel.probe]]\nurl = \"http://127.0.0.1:9/\"\n{probe}")
    }

    #[test]
    fn a_probe_runs_from_the_server_alone_by_default() {
        let config = parse("t.toml", &with_probe("", "")).expect("valid");
        let probe = &config.channels[0].probes[0];
        assert_eq!(probe.locations, ["local"]);
        assert_eq!(probe.quorum, 1);
        assert_eq!(config.locations.len(), 1);
        assert_eq!(config.locations[0].id, "local");
    }

    #[test]
    fn locations_default_quorum_is_a_majority_and_defaults_apply() {
        let top = "[service]\nlocation = \"fra\"\ndefault_locations = [\"fra\", \"eu-west\", \"us-east\"]\n\
                   [[location]]\nid = \"eu-west\"\nname = \"EU West\"\nregion = \"Dublin\"\n\
                   [[location]]\nid = \"us-east\"\n[[location]]\nid = \"fra\"\nname = \"Frankfurt\"\n";
        let config = parse("t.toml", &with_probe(top, "")).expect("valid");
        let probe = &config.channels[0].probes[0];
        assert_eq!(probe.locations, ["fra", "eu-west", "us-east"]);
        assert_eq!(probe.quorum, 2);
        let names: Vec<&str> = config.locations.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["Frankfurt", "EU West", "us-east"]);
        assert_eq!(config.locations[1].region.as_deref(), Some("Dublin"));
        let two = parse(
            "t.toml",
            &with_probe(top, "locations = [\"eu-west\", \"us-east\"]\nquorum = 1\n"),
        )
        .expect("valid");
        assert_eq!(two.channels[0].probes[0].quorum, 1);
        assert_eq!(two.probes_at("eu-west").count(), 1);
        assert_eq!(two.probes_at("fra").count(), 0);
    }

    #[test]
    fn the_readme_example_is_a_valid_configuration() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("## Probing from several places")
            .nth(1)
            .expect("the README has the section");
        let toml = section
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("the section has a toml example");
        let config = parse("README.md", toml).expect("the README's example is valid");
        let probe = &config.channels[0].probes[0];
        assert_eq!(probe.locations, ["local", "eu-west", "us-east"]);
        assert_eq!(probe.quorum, 2);
        assert_eq!(
            config.location("eu-west").and_then(|l| l.region.as_deref()),
            Some("Dublin")
        );
    }

    #[test]
    fn bad_locations_are_errors_at_their_place() {
        let top = "[[location]]\nid = \"eu\"\n";
        // (file text, expected line:column, words in the message)
        let rows: Vec<(String, &str, &str)> = vec![
            (
                with_probe(top, "locations = [\"local\", \"mars\"]\n"),
                "t.toml:8:23",
                "unknown location \"mars\" in locations",
            ),
            (
                with_probe(top, "locations = [\"local\", \"eu\"]\nquorum = 0\n"),
                "t.toml:9:10",
                "quorum = 0 is out of range",
            ),
            (
                with_probe(top, "locations = [\"local\", \"eu\"]\nquorum = 3\n"),
                "t.toml:9:10",
                "quorum = 3 is out of range: from 1 to the probe's 2 locations",
            ),
            (
                with_probe(top, "locations = []\n"),
                "t.toml:8:13",
                "locations must name at least one location",
            ),
            (
                with_probe(top, "locations = [\"eu\", \"eu\"]\n"),
                "t.toml:8:20",
                "named twice",
            ),
            (
                with_probe("[[location]]\nid = \"EU\"\n", ""),
                "t.toml:2:6",
                "invalid location id \"EU\"",
            ),
            (
                with_probe("[[location]]\nid = \"eu\"\n[[location]]\nid = \"eu\"\n", ""),
                "t.toml:4:6",
                "duplicate location id \"eu\"",
            ),
            (
                with_probe("[service]\ndefault_locations = [\"nowhere\"]\n", ""),
                "t.toml:2:22",
                "unknown location \"nowhere\" in default_locations",
            ),
        ];
        for (text, place, words) in rows {
            let error = parse("t.toml", &text).expect_err(&text).to_string();
            assert!(
                error.starts_with(place),
                "{error} should start with {place}"
            );
            assert!(error.contains(words), "{error} should say {words}");
        }
    }
}
