//! Who is calling: `Authorization: Bearer TOKEN`, checked against the stored token hashes.
//! Tokens are never logged.
//!
//! Two kinds of callers, two extractors: [`Caller`] for the operator API (operator and admin
//! tokens) and [`ProberCaller`] for a prober node (a `prober` token, bound to one location).
//! Each refuses the other kind with 403 before any handler runs, so a prober token opens
//! nothing but the prober endpoints, and an operator token cannot post observations.

use super::{AppState, Error};
use crate::domain::Actor;
use crate::probe::hash_token;
use crate::store::TokenRecord;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use std::net::SocketAddr;

/// What a token or an account may do. Not ordered: [`Role::grants`] says what each one
/// includes, so a new role cannot slip into another's rights by sorting above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Incidents, maintenance, tickets.
    Operator,
    /// Also accounts, tokens, settings, imports.
    Admin,
    /// A prober node: its location's probe assignment and its observations, nothing else.
    Prober,
}

impl Role {
    /// A token's role as stored.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            "prober" => Some(Role::Prober),
            _ => None,
        }
    }

    /// An account's role: operator or admin (an account is a person, never a prober).
    pub fn parse_account(text: &str) -> Option<Role> {
        Role::parse(text).filter(|r| *r != Role::Prober)
    }

    /// Whether this role may do what `needed` may: an admin what an operator may, and
    /// each role what it is; a prober nothing of the others, and they nothing of it.
    pub fn grants(self, needed: Role) -> bool {
        match (self, needed) {
            (Role::Admin, Role::Admin | Role::Operator) => true,
            (Role::Operator, Role::Operator) => true,
            (Role::Prober, Role::Prober) => true,
            (Role::Admin | Role::Operator, Role::Prober) => false,
            (Role::Operator | Role::Prober, Role::Admin) => false,
            (Role::Prober, Role::Operator) => false,
        }
    }
}

/// An authenticated caller of the operator API (an operator or admin token).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub role: Role,
}

impl Caller {
    /// 403 unless the caller's role grants `role`.
    pub fn require(&self, role: Role) -> Result<(), Error> {
        if self.role.grants(role) {
            Ok(())
        } else {
            Err(Error::Forbidden(
                format!("this needs the {role:?} role").to_lowercase(),
            ))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let record = token_record(parts, app).await?;
        let role = match Role::parse(&record.role) {
            Some(role @ (Role::Operator | Role::Admin)) => role,
            Some(Role::Prober) => {
                return Err(Error::Forbidden(
                    "a prober token may only fetch its location's probes and post observations"
                        .into(),
                ))
            }
            None => return Err(Error::Forbidden("this token has no known role".into())),
        };
        Ok(Caller {
            actor: Actor {
                who: format!("token:{}", record.name),
                source: remote_address(parts, app),
            },
            role,
        })
    }
}

/// An authenticated prober node: a `prober` token and the location it is bound to.
#[derive(Debug, Clone)]
pub struct ProberCaller {
    /// The token's name, for logs.
    pub name: String,
    /// The only location whose probes it may fetch and whose observations it may post.
    pub location: String,
}

impl FromRequestParts<AppState> for ProberCaller {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let record = token_record(parts, app).await?;
        match (Role::parse(&record.role), record.location) {
            (Some(Role::Prober), Some(location)) => Ok(ProberCaller {
                name: record.name,
                location,
            }),
            _ => Err(Error::Forbidden(
                "this needs a prober token (beacon token create --role prober --location ID)"
                    .into(),
            )),
        }
    }
}

/// The live token named by `Authorization: Bearer`, or 401.
async fn token_record(parts: &Parts, app: &AppState) -> Result<TokenRecord, Error> {
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::Unauthorized("missing bearer token (Authorization: Bearer TOKEN)".into())
        })?;
    app.store
        .use_token(hash_token(token), app.clock.now())
        .await
        .map_err(|e| match e {
            crate::store::Error::NotFound => Error::Unauthorized("invalid or revoked token".into()),
            other => Error::Store(other),
        })
}

/// The caller's IP address for the audit log and the login throttle: the TCP peer, or what
/// `X-Forwarded-For` says when the peer is one of `[server] trusted_proxies`
/// (`ServerSettings::client_address`). `unknown` when the server runs without connection
/// info, as in some tests.
pub(super) fn remote_address(parts: &Parts, app: &AppState) -> String {
    let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
        return "unknown".to_owned();
    };
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    app.config()
        .server
        .client_address(peer.0.ip(), forwarded)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::Role;

    /// Every pair of roles: what the caller's role grants, written out so that a change is
    /// a deliberate edit of this table.
    #[test]
    fn roles_grant_exactly_their_own_rights() {
        use Role::{Admin, Operator, Prober};
        let table = [
            (Admin, Admin, true),
            (Admin, Operator, true),
            (Admin, Prober, false),
            (Operator, Admin, false),
            (Operator, Operator, true),
            (Operator, Prober, false),
            (Prober, Admin, false),
            (Prober, Operator, false),
            (Prober, Prober, true),
        ];
        for (caller, needed, granted) in table {
            assert_eq!(caller.grants(needed), granted, "{caller:?} for {needed:?}");
        }
    }

    #[test]
    fn accounts_are_never_probers() {
        let table = [
            ("operator", Some(Role::Operator), Some(Role::Operator)),
            ("admin", Some(Role::Admin), Some(Role::Admin)),
            ("prober", Some(Role::Prober), None),
            ("Admin", None, None),
            ("", None, None),
        ];
        for (text, token, account) in table {
            assert_eq!(Role::parse(text), token, "{text:?} as a token role");
            assert_eq!(
                Role::parse_account(text),
                account,
                "{text:?} as an account role"
            );
        }
    }
}
