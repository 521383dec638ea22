//! `[auth]`: the serde mirror and its validation.

use super::validate::duration;
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
}

pub(super) fn auth(raw: Option<RawAuth>, src: &Source<'_>) -> Result<AuthSettings, ConfigError> {
    let mut settings = AuthSettings::default();
    let Some(raw) = raw else {
        return Ok(settings);
    };
    // Argon2 needs at least 8 KiB per lane; more than 4 GiB per login would be a mistake.
    if let Some(kib) = bounded(
        raw.password_memory_kib,
        "password_memory_kib",
        8,
        4 << 20,
        src,
    )? {
        settings.password_memory_kib = kib;
    }
    if let Some(n) = bounded(raw.password_iterations, "password_iterations", 1, 100, src)? {
        settings.password_iterations = n;
    }
    if let Some(n) = bounded(raw.login_attempts, "login_attempts", 1, 1000, src)? {
        settings.login_attempts = n;
    }
    if let Some(ttl) = duration(raw.session_ttl.as_ref(), "session_ttl", src)? {
        settings.session_ttl = ttl;
    }
    if let Some(window) = duration(raw.login_window.as_ref(), "login_window", src)? {
        settings.login_window = window;
    }
    Ok(settings)
}

fn bounded(
    value: Option<Spanned<i64>>,
    key: &str,
    min: u32,
    max: u32,
    src: &Source<'_>,
) -> Result<Option<u32>, ConfigError> {
    let Some(value) = value else { return Ok(None) };
    match u32::try_from(*value.get_ref()) {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(src.error(
            value.span(),
            format!(
                "{key} = {} is out of range: from {min} to {max}",
                value.get_ref()
            ),
        )),
    }
}
