//! Who is calling: `Authorization: Bearer TOKEN` for the operator API, checked against the
//! stored token hashes. Tokens are never logged.

use super::{AppState, Error};
use crate::domain::Actor;
use crate::probe::hash_token;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use std::net::SocketAddr;

/// Roles, least to most powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Incidents, maintenance, tickets.
    Operator,
    /// Also accounts, tokens, settings, imports.
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An authenticated caller of the operator API.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub role: Role,
}

impl Caller {
    /// 403 unless the caller has at least `role`.
    pub fn require(&self, role: Role) -> Result<(), Error> {
        if self.role >= role {
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
        let record = app
            .store
            .use_token(hash_token(token), app.clock.now())
            .await
            .map_err(|e| match e {
                crate::store::Error::NotFound => {
                    Error::Unauthorized("invalid or revoked token".into())
                }
                other => Error::Store(other),
            })?;
        Ok(Caller {
            actor: Actor {
                who: format!("token:{}", record.name),
                source: remote_address(parts, app),
            },
            role: Role::parse(&record.role).unwrap_or(Role::Operator),
        })
    }
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
