//! What one `beacon serve` does (`--role`): serve the web (page, APIs, admin), run the jobs
//! (the recorder, maintenance, deliveries, reports, pruning: under the jobs lease, on one
//! node at a time), and probe from the server's own location.

use std::fmt;
use std::str::FromStr;

/// The roles of one node. `all` (the default) is a single node as it always was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// Serves the status page, the APIs and the admin from the shared database.
    pub web: bool,
    /// Contends for the jobs lease and, holding it, runs the work that must happen once.
    pub jobs: bool,
    /// Holding the lease, also runs the probes of the server's own location (`all` only:
    /// with `web,jobs` the probes come from prober nodes).
    pub own_probes: bool,
}

impl Roles {
    pub const ALL: Roles = Roles {
        web: true,
        jobs: true,
        own_probes: true,
    };
}

impl Default for Roles {
    fn default() -> Roles {
        Roles::ALL
    }
}

impl FromStr for Roles {
    type Err = String;

    fn from_str(text: &str) -> Result<Roles, String> {
        if text.trim() == "all" {
            return Ok(Roles::ALL);
        }
        let mut roles = Roles {
            web: false,
            jobs: false,
            own_probes: false,
        };
        for part in text.split(',').map(str::trim) {
            match part {
                "web" => roles.web = true,
                "jobs" => roles.jobs = true,
                other => {
                    return Err(format!(
                        "unknown role {other:?}: expected all, or web and/or jobs (web,jobs)"
                    ))
                }
            }
        }
        Ok(roles)
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.web, self.jobs, self.own_probes) {
            (true, true, true) => f.write_str("all"),
            (true, true, false) => f.write_str("web,jobs"),
            (true, false, _) => f.write_str("web"),
            (false, true, _) => f.write_str("jobs"),
            (false, false, _) => f.write_str("none"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Roles;

    #[test]
    fn roles_parse_and_print_back() {
        let cases = [
            ("all", Some((true, true, true)), "all"),
            ("web,jobs", Some((true, true, false)), "web,jobs"),
            ("jobs, web", Some((true, true, false)), "web,jobs"),
            ("web", Some((true, false, false)), "web"),
            ("jobs", Some((false, true, false)), "jobs"),
            ("prober", None, ""),
            ("web,", None, ""),
            ("", None, ""),
        ];
        for (text, expected, shown) in cases {
            let parsed: Result<Roles, _> = text.parse();
            match expected {
                Some((web, jobs, own_probes)) => {
                    let roles = parsed.unwrap_or_else(|e| panic!("{text}: {e}"));
                    assert_eq!(
                        roles,
                        Roles {
                            web,
                            jobs,
                            own_probes
                        },
                        "{text}"
                    );
                    assert_eq!(roles.to_string(), shown, "{text}");
                }
                None => assert!(parsed.is_err(), "{text} should be refused"),
            }
        }
    }
}
