//! Phase two: raw TOML values to domain types, with the semantic checks.

use super::raw::{RawChannel, RawFile, RawService};
use super::{ConfigError, Source};
use crate::domain::{Channel, Config, ProbeSpec, ServiceSettings};
use std::collections::HashMap;
use std::time::Duration;
use toml::Spanned;

const DEFAULT_GROUP: &str = "Services";
/// 06:00 UTC on the 1st: last month's report is ready when the managers arrive.
const DEFAULT_REPORT_SCHEDULE: &str = "0 0 6 1 * *";

pub(super) fn validate(raw: RawFile, src: &Source<'_>) -> Result<Config, ConfigError> {
    let allow_empty = raw.service.as_ref().and_then(|s| s.allow_empty) == Some(true);
    let fast = raw.service.as_ref().and_then(|s| s.allow_fast_probes) == Some(true);
    let (service, default_locations) = service(raw.service, src)?;
    let places = super::location::places(&service.location, raw.location, default_locations, src)?;
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
        channels.push(channel(raw_channel, fast, &places, src)?);
    }
    let notify = super::notify::notify(raw.notify, src)?;
    let tickets = tickets(raw.tickets, src)?;
    let auth = super::auth::auth(raw.auth, src)?;
    let page = super::page::page(raw.page, &service.name, src)?;
    let server = super::server::server(raw.server, src)?;
    let mut config = Config {
        page,
        service,
        channels,
        notify,
        tickets,
        auth,
        maintenance: Vec::new(),
        server,
        locations: places.locations,
    };
    // Last: a rule's channels are checked against the channels above.
    config.maintenance = super::maintenance::maintenance(raw.maintenance, &config, src)?;
    // An empty file (or one whose channels were all deleted) would stop every probe and
    // blank the page while Beacon reports itself healthy: refused unless meant.
    if config.channels.is_empty() && !allow_empty {
        return Err(src.error(
            0..0,
            "no channels: add a [[channel]] table with an id and a name, or set allow_empty = true in [service] to run without any".to_owned(),
        ));
    }
    Ok(config)
}

fn tickets(
    raw: Option<super::raw::RawTickets>,
    src: &Source<'_>,
) -> Result<crate::domain::TicketPolicy, ConfigError> {
    let mut policy = crate::domain::TicketPolicy::default();
    let Some(raw) = raw else { return Ok(policy) };
    if let Some(calendar) = raw.calendar {
        policy.tier2 = match calendar.get_ref().as_str() {
            "calendar" => false,
            "tier2" => true,
            other => {
                return Err(src.error(
                    calendar.span(),
                    format!("calendar = \"{other}\": expected \"calendar\" (calendar hours) or \"tier2\" (06:00-16:00 UTC business days)"),
                ))
            }
        };
    }
    for day in raw.holidays.unwrap_or_default() {
        let text = day.get_ref();
        let parts: Vec<&str> = text.split('-').collect();
        let parsed = match parts.as_slice() {
            [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
                match (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>()) {
                    (Ok(y), Ok(m), Ok(d)) if (1..=12).contains(&m) && (1..=31).contains(&d) => {
                        Some((y, m, d))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        match parsed {
            Some(date) => policy.holidays.push(date),
            None => {
                return Err(src.error(
                    day.span(),
                    format!("holiday \"{text}\" is not a date like 2026-12-25"),
                ))
            }
        }
    }
    if let Some(file) = raw.holidays_ics {
        for day in holidays_file(&file, src)? {
            policy
                .holidays
                .push((day.year(), u8::from(day.month()), day.day()));
        }
    }
    if let Some(t) = raw.targets {
        for (i, (key, value)) in [
            ("critical", t.critical),
            ("high", t.high),
            ("medium", t.medium),
            ("low", t.low),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(d) = duration(value.as_ref(), key, src)? {
                policy.targets_ms[i] = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
            }
        }
    }
    policy.waiver_requires_impact = raw.waiver_requires_impact.unwrap_or(false);
    policy.status_page_counts_as_response = raw.status_page_counts_as_response.unwrap_or(false);
    policy.maintenance_never_waives = raw.maintenance_never_waives.unwrap_or(false);
    if let Some(from) = raw.retarget_from {
        policy.measure_from_severity_change = match from.get_ref().as_str() {
            "receipt" => false,
            "change" => true,
            other => {
                return Err(src.error(
                    from.span(),
                    format!("retarget_from = \"{other}\": expected \"receipt\" (a severity change re-targets from receipt, the default) or \"change\" (from the change)"),
                ))
            }
        };
    }
    Ok(policy)
}

/// Reads `holidays_ics`, relative to the configuration file's directory; any problem is an
/// error at the key that names the file, with the file's own line when it is malformed.
fn holidays_file(file: &Spanned<String>, src: &Source<'_>) -> Result<Vec<time::Date>, ConfigError> {
    let name = file.get_ref();
    if name.trim().is_empty() {
        return Err(src.error(file.span(), "holidays_ics must not be empty".into()));
    }
    let path = src.dir().join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        src.error(
            file.span(),
            format!(
                "holidays_ics = \"{name}\": cannot read {}: {e}",
                path.display()
            ),
        )
    })?;
    super::holidays::parse(&text).map_err(|e| {
        src.error(
            file.span(),
            format!(
                "holidays_ics = \"{name}\": {}:{}: {}",
                path.display(),
                e.line,
                e.message
            ),
        )
    })
}

/// `[service]`, and its `default_locations` for [`super::location::places`] to check once
/// the `[[location]]` tables are read.
type DefaultLocations = Option<Spanned<Vec<Spanned<String>>>>;

fn service(
    raw: Option<RawService>,
    src: &Source<'_>,
) -> Result<(ServiceSettings, DefaultLocations), ConfigError> {
    let raw = raw.unwrap_or(RawService {
        name: None,
        location: None,
        default_locations: None,
        commitment: None,
        partial_weight: None,
        maintenance_counts_as_downtime: None,
        connectivity_check: None,
        retention: None,
        public_reports: None,
        report_schedule: None,
        report_dir: None,
        auto_publish: None,
        allow_empty: None,
        allow_fast_probes: None,
    });
    let name = non_empty(raw.name, "name", src)?.unwrap_or_else(|| "Beacon".to_owned());
    let location = match raw.location {
        Some(l) if !super::location::valid_id(l.get_ref()) => {
            return Err(src.error(
                l.span(),
                format!(
                "invalid location \"{}\": use lowercase letters, digits, '-' and '_' (at most 64)",
                l.get_ref()
            ),
            ))
        }
        Some(l) => l.into_inner(),
        None => "local".to_owned(),
    };
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
    let connectivity_check = match raw.connectivity_check {
        Some(url) => {
            let text = url.get_ref();
            match url::Url::parse(text) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    Some(text.clone())
                }
                _ => {
                    return Err(src.error(
                        url.span(),
                        format!(
                            "invalid connectivity_check \"{text}\": expected an http or https URL"
                        ),
                    ))
                }
            }
        }
        None => None,
    };
    let retention = duration(raw.retention.as_ref(), "retention", src)?
        .unwrap_or(Duration::from_secs(90 * 24 * 3600));
    let report_schedule = match raw.report_schedule {
        Some(expr) => {
            let text = expr.get_ref().trim().to_owned();
            super::parse_cron(&text).map_err(|e| {
                src.error(
                    expr.span(),
                    format!("invalid cron expression report_schedule = \"{text}\": {e}"),
                )
            })?;
            text
        }
        None => DEFAULT_REPORT_SCHEDULE.to_owned(),
    };
    let report_dir = non_empty(raw.report_dir, "report_dir", src)?.map(std::path::PathBuf::from);
    let service = ServiceSettings {
        connectivity_check,
        retention,
        public_reports: raw.public_reports.unwrap_or(false),
        report_schedule,
        report_dir,
        auto_publish: raw.auto_publish.unwrap_or(false),
        name,
        location,
        commitment_percent,
        partial_weight,
        maintenance_counts_as_downtime: raw.maintenance_counts_as_downtime.unwrap_or(true),
    };
    Ok((service, raw.default_locations))
}

/// `fast`: `[service] allow_fast_probes`, for tests.
fn channel(
    raw: RawChannel,
    fast: bool,
    places: &super::location::Places,
    src: &Source<'_>,
) -> Result<Channel, ConfigError> {
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
            .get_ref()
            .name
            .as_ref()
            .map_or(raw_probe.span(), Spanned::span);
        let spec = super::probe::probe(raw_probe, fast, places, src)?;
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

/// Parses a human duration (`30s`, `5m`, `1h 30m`, `250ms`); it must be above zero.
pub(super) fn duration(
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

/// An optional integer `key` within `[min, max]`, or an error at its value naming the range.
pub(super) fn integer_in<T>(
    value: Option<Spanned<i64>>,
    key: &str,
    min: T,
    max: T,
    src: &Source<'_>,
) -> Result<Option<T>, ConfigError>
where
    T: TryFrom<i64> + PartialOrd + std::fmt::Display + Copy,
{
    let Some(value) = value else { return Ok(None) };
    match T::try_from(*value.get_ref()) {
        Ok(n) if min <= n && n <= max => Ok(Some(n)),
        _ => Err(src.error(
            value.span(),
            format!(
                "{key} = {} is out of range: from {min} to {max}",
                value.get_ref()
            ),
        )),
    }
}

pub(super) fn threshold(
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

pub(super) fn non_empty(
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
