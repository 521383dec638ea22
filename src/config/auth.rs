//! `[auth]`: the serde mirror and its validation.

use super::validate::{duration, integer_in};
use super::{ConfigError, Source};
use crate::domain::AuthSettings;
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    pub password_memory_kib: Option<Spanned<i64>>,
    pub password_iterations: Option<Spanned<i64>>,
    pub session_ttl: Option<Spanned<String>>,
    pub login_attempts: Option<Spanned<i64>>,
    pub login_window: Option<Spanned<String>>,
    pub login_backoff: Option<Spanned<String>>,
    /// For tests: argon2 costs below OWASP's minimum.
    pub allow_weak_hashing: Option<bool>,
}

/// OWASP's argon2id rows (Password Storage Cheat Sheet), one lane each: memory in KiB and
/// the passes it needs. Any row at or below the configured pair is enough.
const OWASP_ARGON2ID: [(u32, u32); 5] = [
    (47_104, 1),
    (19_456, 2),
    (12_288, 3),
    (9_216, 4),
    (7_168, 5),
];

pub(super) fn auth(raw: Option<RawAuth>, src: &Source<'_>) -> Result<AuthSettings, ConfigError> {
    let mut settings = AuthSettings::default();
    let Some(raw) = raw else {
        return Ok(settings);
    };
    // Argon2 needs at least 8 KiB per lane; more than 4 GiB per login would be a mistake.
    if let Some(kib) = integer_in(
        raw.password_memory_kib.clone(),
        "password_memory_kib",
        8,
        4 << 20,
        src,
    )? {
        settings.password_memory_kib = kib;
    }
    if let Some(n) = integer_in(
        raw.password_iterations.clone(),
        "password_iterations",
        1,
        100,
        src,
    )? {
        settings.password_iterations = n;
    }
    if let Some(n) = integer_in(raw.login_attempts, "login_attempts", 1, 1000, src)? {
        settings.login_attempts = n;
    }
    if let Some(ttl) = duration(raw.session_ttl.as_ref(), "session_ttl", src)? {
        settings.session_ttl = ttl;
    }
    if let Some(window) = duration(raw.login_window.as_ref(), "login_window", src)? {
        settings.login_window = window;
    }
    if let Some(backoff) = duration(raw.login_backoff.as_ref(), "login_backoff", src)? {
        settings.login_backoff = backoff;
    }
    let (m, t) = (settings.password_memory_kib, settings.password_iterations);
    let strong = OWASP_ARGON2ID
        .iter()
        .any(|&(min_m, min_t)| m >= min_m && t >= min_t);
    if !strong && raw.allow_weak_hashing != Some(true) {
        let (span, given) = match (&raw.password_memory_kib, &raw.password_iterations) {
            (Some(kib), _) => (
                kib.span(),
                format!("password_memory_kib = {m} with password_iterations = {t}"),
            ),
            (None, Some(n)) => (
                n.span(),
                format!("password_iterations = {t} with password_memory_kib = {m}"),
            ),
            // The defaults are one of the rows.
            (None, None) => (0..0, format!("password_memory_kib = {m}")),
        };
        let rows: Vec<String> = OWASP_ARGON2ID
            .iter()
            .map(|(m, t)| format!("{m} KiB with {t}"))
            .collect();
        return Err(src.error(
            span,
            format!(
                "{given} is below OWASP's minimum for argon2id (memory and iterations of one of: {}); allow_weak_hashing = true in [auth] permits it, for tests only",
                rows.join(", ")
            ),
        ));
    }
    Ok(settings)
}
