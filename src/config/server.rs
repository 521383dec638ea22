//! `[server]`: the serde mirror and its validation.

use super::validate::{duration, integer_in};
use super::{ConfigError, Source};
use crate::domain::{IpNet, ServerSettings};
use serde::Deserialize;
use std::time::Duration;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub header_read_timeout: Option<Spanned<String>>,
    pub idle_timeout: Option<Spanned<String>>,
    pub max_connections: Option<Spanned<i64>>,
    pub max_connections_per_client: Option<Spanned<i64>>,
    pub max_body_bytes: Option<Spanned<i64>>,
    /// Addresses or CIDR ranges of reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Option<Vec<Spanned<String>>>,
}

/// Timeouts shorter than this would cut off real clients on a slow phone network; longer
/// than an hour would let idle connections pile up.
const TIMEOUT_RANGE: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(3600));

pub(super) fn server(
    raw: Option<RawServer>,
    src: &Source<'_>,
) -> Result<ServerSettings, ConfigError> {
    let mut settings = ServerSettings::default();
    let Some(raw) = raw else {
        return Ok(settings);
    };
    if let Some(t) = timeout(raw.header_read_timeout.as_ref(), "header_read_timeout", src)? {
        settings.header_read_timeout = t;
    }
    if let Some(t) = timeout(raw.idle_timeout.as_ref(), "idle_timeout", src)? {
        settings.idle_timeout = t;
    }
    if let Some(n) = integer_in(
        raw.max_connections,
        "[server] max_connections",
        1,
        1 << 20,
        src,
    )? {
        settings.max_connections = n;
    }
    if let Some(n) = integer_in(
        raw.max_connections_per_client,
        "[server] max_connections_per_client",
        1,
        1 << 20,
        src,
    )? {
        settings.max_connections_per_client = n;
    }
    if let Some(n) = integer_in(
        raw.max_body_bytes,
        "[server] max_body_bytes",
        1024,
        1 << 30,
        src,
    )? {
        settings.max_body_bytes = n;
    }
    // With no list, no proxy is trusted and the TCP peer is the client.
    for proxy in raw.trusted_proxies.unwrap_or_default() {
        let text = proxy.get_ref();
        let net = IpNet::parse(text).map_err(|why| {
            src.error(
                proxy.span(),
                format!("invalid trusted_proxies entry \"{text}\" in [server]: {why}"),
            )
        })?;
        settings.trusted_proxies.push(net);
    }
    Ok(settings)
}

fn timeout(
    value: Option<&Spanned<String>>,
    key: &str,
    src: &Source<'_>,
) -> Result<Option<Duration>, ConfigError> {
    let Some(d) = duration(value, &format!("[server] {key}"), src)? else {
        return Ok(None);
    };
    let (min, max) = TIMEOUT_RANGE;
    if d < min || d > max {
        let span = value.map(|v| v.span()).unwrap_or_default();
        return Err(src.error(
            span,
            format!("[server] {key} is out of range: from 100ms to 1h"),
        ));
    }
    Ok(Some(d))
}
