//! Phase two: raw TOML values to domain types, with the semantic checks.

use super::raw::{RawChannel, RawFile, RawProbe, RawService};
use super::{ConfigError, Source};
use crate::domain::{Channel, Config, ProbeSpec, ProbeTarget, ServiceSettings, Thresholds};
use std::collections::HashMap;
use std::time::Duration;
use toml::Spanned;

const DEFAULT_EVERY: Duration = Duration::from_secs(60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_FAILURE_THRESHOLD: i64 = 3;
const DEFAULT_SUCCESS_THRESHOLD: i64 = 2;
const DEFAULT_GROUP: &str = "Services";

pub(super) fn validate(raw: RawFile, src: &Source<'_>) -> Result<Config, ConfigError> {
    let service = service(raw.service, src)?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut channels = Vec::with_capacity(raw.channels.len());
    for raw_channel in raw.channels {
        let id = &raw_channel.id;
        if let Some(first_line) = seen.get(id.get_ref()) {
            return Err(src.error(
                id.span(),
                format!(
                    "duplicate channel id \"{}\" (first defined at line {first_line})",
                    id.get_ref()
                ),
            ));
        }
        seen.insert(id.get_ref().clone(), src.position(id.span().start).0);
        channels.push(channel(raw_channel, src)?);
    }
    Ok(Config { service, channels })
}

fn service(raw: Option<RawService>, src: &Source<'_>) -> Result<ServiceSettings, ConfigError> {
    let raw = raw.unwrap_or(RawService {
        name: None,
        location: None,
        commitment: None,
        partial_weight: None,
        maintenance_counts_as_downtime: None,
    });
    let name = non_empty(raw.name, "name", src)?.unwrap_or_else(|| "Beacon".to_owned());
    let location = non_empty(raw.location, "location", src)?.unwrap_or_else(|| "local".to_owned());
    let commitment_percent = match raw.commitment {
        Some(c) if !(*c.get_ref() > 0.0 && *c.get_ref() <= 100.0) => {
            return Err(src.error(
                c.span(),
                format!(
                    "commitment {} is out of range: a percentage above 0 and at most 100",
                    c.get_ref()
                ),
            ))
        }
        Some(c) => c.into_inner(),
        None => 99.5,
    };
    let partial_weight = match raw.partial_weight {
        Some(w) if !(0.0..=1.0).contains(w.get_ref()) => {
            return Err(src.error(
                w.span(),
                format!(
                    "partial_weight {} is out of range: between 0 and 1",
                    w.get_ref()
                ),
            ))
        }
        Some(w) => w.into_inner(),
        None => 0.3,
    };
    Ok(ServiceSettings {
        name,
        location,
        commitment_percent,
        partial_weight,
        maintenance_counts_as_downtime: raw.maintenance_counts_as_downtime.unwrap_or(true),
    })
}

fn channel(raw: RawChannel, src: &Source<'_>) -> Result<Channel, ConfigError> {
    let id = raw.id.get_ref();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(src.error(
            raw.id.span(),
            format!("invalid channel id \"{id}\": use lowercase letters, digits, '-' and '_'"),
        ));
    }
    let name = non_empty(Some(raw.name), "name", src)?.unwrap_or_default();
    let group = non_empty(raw.group, "group", src)?.unwrap_or_else(|| DEFAULT_GROUP.to_owned());

    let mut probes: Vec<ProbeSpec> = Vec::with_capacity(raw.probes.len());
    for raw_probe in raw.probes {
        let name_span = raw_probe
            .name
            .as_ref()
            .map_or(raw_probe.url.span(), Spanned::span);
        let spec = probe(raw_probe, src)?;
        if probes.iter().any(|p| p.name == spec.name) {
            return Err(src.error(
                name_span,
                format!("duplicate probe name \"{}\" in channel \"{id}\"", spec.name),
            ));
        }
        probes.push(spec);
    }
    Ok(Channel {
        id: id.clone(),
        name,
        group,
        in_commitment: raw.in_commitment.unwrap_or(true),
        probes,
    })
}

fn probe(raw: RawProbe, src: &Source<'_>) -> Result<ProbeSpec, ConfigError> {
    let target = target(&raw.url, src)?;
    let every = duration(raw.every.as_ref(), "every", src)?.unwrap_or(DEFAULT_EVERY);
    let timeout = match duration(raw.timeout.as_ref(), "timeout", src)? {
        Some(t) if t > every => {
            let span = raw.timeout.as_ref().map_or(0..0, Spanned::span);
            return Err(src.error(
                span,
                format!(
                    "timeout {} is longer than the interval every = {}: a probe must finish before its next run",
                    humantime::format_duration(t),
                    humantime::format_duration(every)
                ),
            ));
        }
        Some(t) => t,
        None => DEFAULT_TIMEOUT.min(every),
    };
    let thresholds = Thresholds {
        failure: threshold(
            raw.failure_threshold,
            "failure_threshold",
            DEFAULT_FAILURE_THRESHOLD,
            src,
        )?,
        success: threshold(
            raw.success_threshold,
            "success_threshold",
            DEFAULT_SUCCESS_THRESHOLD,
            src,
        )?,
    };
    let name = match non_empty(raw.name, "name", src)? {
        Some(name) => name,
        None => format!("{} {}", target.kind(), target.describe()),
    };
    Ok(ProbeSpec {
        name,
        target,
        every,
        timeout,
        thresholds,
    })
}

fn target(url: &Spanned<String>, src: &Source<'_>) -> Result<ProbeTarget, ConfigError> {
    let text = url.get_ref();
    let parsed = url::Url::parse(text)
        .map_err(|e| src.error(url.span(), format!("invalid URL \"{text}\": {e}")))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host_str().is_some_and(|h| !h.is_empty()) => {
            Ok(ProbeTarget::Http { url: text.clone() })
        }
        "http" | "https" => Err(src.error(url.span(), format!("invalid URL \"{text}\": no host"))),
        scheme => Err(src.error(
            url.span(),
            format!("invalid URL scheme \"{scheme}\" in \"{text}\": expected http or https"),
        )),
    }
}

/// Parses a human duration (`30s`, `5m`, `1h 30m`, `250ms`); it must be above zero.
fn duration(
    value: Option<&Spanned<String>>,
    key: &str,
    src: &Source<'_>,
) -> Result<Option<Duration>, ConfigError> {
    let Some(value) = value else { return Ok(None) };
    let text = value.get_ref();
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d.is_zero() => Err(src.error(
            value.span(),
            format!("{key} = \"{text}\" must be longer than zero"),
        )),
        Ok(d) => Ok(Some(d)),
        Err(_) => Err(src.error(
            value.span(),
            format!("invalid duration {key} = \"{text}\": expected a positive duration like \"30s\", \"5m\" or \"1h\""),
        )),
    }
}

fn threshold(
    value: Option<Spanned<i64>>,
    key: &str,
    default: i64,
    src: &Source<'_>,
) -> Result<u32, ConfigError> {
    let Some(value) = value else {
        return Ok(u32::try_from(default).unwrap_or(1));
    };
    match u32::try_from(*value.get_ref()) {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(src.error(
            value.span(),
            format!(
                "{key} = {} is out of range: consecutive observations, from 1 to 1000",
                value.get_ref()
            ),
        )),
    }
}

fn non_empty(
    value: Option<Spanned<String>>,
    key: &str,
    src: &Source<'_>,
) -> Result<Option<String>, ConfigError> {
    match value {
        Some(v) if v.get_ref().trim().is_empty() => {
            Err(src.error(v.span(), format!("{key} must not be empty")))
        }
        Some(v) => Ok(Some(v.into_inner())),
        None => Ok(None),
    }
}
