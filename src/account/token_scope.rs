//! What a new API token may reach, checked the same way by `beacon token create` and the
//! admin's token form: operator and admin tokens reach the operator API, a prober token only
//! one declared remote location's probes and observations.

use crate::domain::Config;

/// A new token's role and, for a prober, the location it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    Operator,
    Admin,
    Prober { location: String },
}

impl TokenScope {
    /// The role as stored.
    pub fn role(&self) -> &'static str {
        match self {
            TokenScope::Operator => "operator",
            TokenScope::Admin => "admin",
            TokenScope::Prober { .. } => "prober",
        }
    }
}

/// Why a token cannot be created with that role and location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("unknown role {0:?}: choose operator, admin or prober")]
    UnknownRole(String),
    #[error("a prober token needs the location it probes from")]
    LocationRequired,
    #[error("only a prober token is bound to a location, not an {0} token")]
    LocationRefused(&'static str),
    #[error("location {id:?} is not declared in the configuration (declared with [[location]]: {declared})")]
    UnknownLocation { id: String, declared: String },
    #[error("location {0:?} is this server's own ([service] location): its probes run in the server itself")]
    OwnLocation(String),
}

/// Checks `role` and `location` (absent or empty when not given) against `config`.
pub fn token_scope(
    config: &Config,
    role: &str,
    location: Option<&str>,
) -> Result<TokenScope, ScopeError> {
    let scope = TokenScope::parse(role, location)?;
    scope.check_declared(config)?;
    Ok(scope)
}

impl TokenScope {
    /// The role and location as given, before the location is checked against a
    /// configuration: what needs no configuration file (the CLI reads one for probers only).
    pub fn parse(role: &str, location: Option<&str>) -> Result<TokenScope, ScopeError> {
        let location = location.filter(|l| !l.is_empty());
        let scope = match role {
            "operator" => TokenScope::Operator,
            "admin" => TokenScope::Admin,
            "prober" => {
                let id = location.ok_or(ScopeError::LocationRequired)?;
                return Ok(TokenScope::Prober {
                    location: id.to_owned(),
                });
            }
            other => return Err(ScopeError::UnknownRole(other.to_owned())),
        };
        match location {
            Some(_) => Err(ScopeError::LocationRefused(scope.role())),
            None => Ok(scope),
        }
    }

    /// A prober's location must be a declared remote location of `config`.
    pub fn check_declared(&self, config: &Config) -> Result<(), ScopeError> {
        let TokenScope::Prober { location: id } = self else {
            return Ok(());
        };
        if *id == config.service.location {
            return Err(ScopeError::OwnLocation(id.clone()));
        }
        if config.location(id).is_none() {
            return Err(ScopeError::UnknownLocation {
                id: id.clone(),
                declared: remote_ids(config).join(", "),
            });
        }
        Ok(())
    }
}

/// The declared locations a prober node may serve: all but the server's own.
pub fn remote_ids(config: &Config) -> Vec<&str> {
    config
        .locations
        .iter()
        .map(|l| l.id.as_str())
        .filter(|id| *id != config.service.location)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "[service]\nlocation = \"fra\"\nallow_empty = true\n\
        [[location]]\nid = \"eu-west\"\n[[location]]\nid = \"us-east\"\nname = \"US East\"\n";

    #[test]
    fn roles_and_locations() {
        let config = crate::config::parse("t.toml", CONFIG).expect("valid");
        let declared = "eu-west, us-east".to_owned();
        let prober = |l: &str| {
            Ok(TokenScope::Prober {
                location: l.to_owned(),
            })
        };
        let table: [(&str, Option<&str>, Result<TokenScope, ScopeError>); 11] = [
            ("operator", None, Ok(TokenScope::Operator)),
            ("operator", Some(""), Ok(TokenScope::Operator)),
            ("admin", None, Ok(TokenScope::Admin)),
            ("prober", Some("eu-west"), prober("eu-west")),
            ("prober", Some("us-east"), prober("us-east")),
            ("prober", None, Err(ScopeError::LocationRequired)),
            ("prober", Some(""), Err(ScopeError::LocationRequired)),
            (
                "prober",
                Some("mars"),
                Err(ScopeError::UnknownLocation {
                    id: "mars".into(),
                    declared,
                }),
            ),
            (
                "prober",
                Some("fra"),
                Err(ScopeError::OwnLocation("fra".into())),
            ),
            (
                "admin",
                Some("eu-west"),
                Err(ScopeError::LocationRefused("admin")),
            ),
            (
                "reader",
                None,
                Err(ScopeError::UnknownRole("reader".into())),
            ),
        ];
        for (role, location, expected) in table {
            assert_eq!(
                token_scope(&config, role, location),
                expected,
                "{role} {location:?}"
            );
        }
    }
}
