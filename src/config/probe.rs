//! Validation of one `[[channel.probe]]`: its kind, schedule, timeout and kind-specific keys.

use super::raw::RawProbe;
use super::validate::{duration, non_empty, threshold};
use super::{ConfigError, Source};
use crate::condition::{Condition, Placeholder};
use crate::domain::{DnsRecord, HttpTarget, ProbeSpec, ProbeTarget, Schedule, Thresholds};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;
use toml::Spanned;

const DEFAULT_EVERY: Duration = Duration::from_secs(60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_GRACE: Duration = Duration::from_secs(30);
const DEFAULT_FAILURE_THRESHOLD: i64 = 3;
const DEFAULT_SUCCESS_THRESHOLD: i64 = 2;
const DEFAULT_MAX_BODY: i64 = 1024 * 1024;
const MAX_MAX_BODY: i64 = 64 * 1024 * 1024;
const HTTP_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// Probing more often than once a second measures nothing a person would notice and loads
/// the upstream; less often than once a day leaves most of the day unknown.
const MIN_EVERY: Duration = Duration::from_secs(1);
const MAX_EVERY: Duration = Duration::from_secs(24 * 3600);
/// Below 100 ms a healthy upstream across a network would time out.
const MIN_TIMEOUT: Duration = Duration::from_millis(100);
/// The floor of both with `[service] allow_fast_probes = true` (for tests).
const FAST_MIN: Duration = Duration::from_millis(10);

/// `fast`: `[service] allow_fast_probes`, which lowers the minimum interval and timeout.
pub(super) fn probe(
    raw: Spanned<RawProbe>,
    fast: bool,
    places: &super::location::Places,
    src: &Source<'_>,
) -> Result<ProbeSpec, ConfigError> {
    let table = raw.span();
    let raw = raw.into_inner();
    let target = target(&raw, table, src)?;
    check_keys_fit_kind(&raw, &target, src)?;
    let schedule = schedule(&raw, fast, src)?;
    let interval = shortest_interval(&schedule);
    let min_timeout = if fast { FAST_MIN } else { MIN_TIMEOUT };
    let timeout = match duration(raw.timeout.as_ref(), "timeout", src)? {
        Some(t) if t < min_timeout => {
            let span = raw.timeout.as_ref().map_or(0..0, Spanned::span);
            return Err(src.error(
                span,
                format!(
                    "timeout = \"{}\" is too short: at least {}",
                    raw.timeout.as_ref().map_or("", |t| t.get_ref().as_str()),
                    humantime::format_duration(min_timeout)
                ),
            ));
        }
        Some(t) if t > interval => {
            let span = raw.timeout.as_ref().map_or(0..0, Spanned::span);
            return Err(src.error(
                span,
                format!(
                    "timeout {} is longer than the interval {}: a probe must finish before its next run",
                    humantime::format_duration(t),
                    match &schedule {
                        Schedule::Every(_) => format!("every = {}", humantime::format_duration(interval)),
                        Schedule::Cron(_) => format!("of the cron schedule ({})", humantime::format_duration(interval)),
                    }
                ),
            ));
        }
        Some(t) => t,
        None => DEFAULT_TIMEOUT.min(interval),
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
    let all_of = conditions(raw.conditions.as_deref(), "conditions", &target, src)?;
    let degraded_if = conditions(raw.degraded_if.as_deref(), "degraded_if", &target, src)?;
    if let (ProbeTarget::Push { .. }, Some(list)) = (&target, &raw.locations) {
        return Err(src.error(
            list.span(),
            "locations: a push probe is received by the server itself, so it has no other locations".to_owned(),
        ));
    }
    let places_of_push;
    let places = if matches!(target, ProbeTarget::Push { .. }) {
        places_of_push = places.only_own();
        &places_of_push
    } else {
        places
    };
    let (locations, quorum) =
        super::location::probe_places(raw.locations, raw.quorum, places, src)?;
    let name = match non_empty(raw.name, "name", src)? {
        Some(name) => name,
        None => format!("{} {}", target.kind(), target.describe()),
    };
    Ok(ProbeSpec {
        name,
        target,
        schedule,
        timeout,
        thresholds,
        conditions: all_of,
        degraded_if,
        locations,
        quorum,
    })
}

/// Which placeholders each kind's check fills in.
fn placeholders_of(target: &ProbeTarget) -> &'static [Placeholder] {
    use Placeholder::*;
    match target {
        ProbeTarget::Http(_) => &[
            Status,
            ResponseTime,
            Body,
            Connected,
            Ip,
            CertificateExpiration,
        ],
        ProbeTarget::Tcp { .. } => &[Connected, ResponseTime, Body, Ip],
        ProbeTarget::Tls { .. } => &[Connected, ResponseTime, CertificateExpiration, Ip],
        ProbeTarget::Dns { .. } => &[DnsRcode, Body, ResponseTime, Ip],
        ProbeTarget::Push { .. } => &[Body, Connected],
    }
}

/// Parses each condition; an error points into the string (after its opening quote), and a
/// placeholder the probe's kind never fills is refused rather than failing every run.
fn conditions(
    texts: Option<&[Spanned<String>]>,
    key: &str,
    target: &ProbeTarget,
    src: &Source<'_>,
) -> Result<Vec<Condition>, ConfigError> {
    let available = placeholders_of(target);
    let mut out = Vec::new();
    for text in texts.unwrap_or_default() {
        let start = text.span().start + 1;
        let condition = Condition::parse(text.get_ref()).map_err(|e| {
            let at = start + e.offset;
            src.error(at..at, format!("invalid condition in {key}: {}", e.message))
        })?;
        if let Some(missing) = condition
            .placeholders()
            .into_iter()
            .find(|p| !available.contains(p))
        {
            let offset = text.get_ref().find(missing.as_str()).unwrap_or(0);
            let names: Vec<&str> = available.iter().map(|p| p.as_str()).collect();
            return Err(src.error(
                start + offset..start + offset,
                format!(
                    "{missing} is not available for {} probes (they fill {})",
                    target.kind(),
                    names.join(", ")
                ),
            ));
        }
        out.push(condition);
    }
    Ok(out)
}

/// Parses a cron expression: six fields with seconds, or the classic five (run at second 0).
pub fn parse_cron(expression: &str) -> Result<cron::Schedule, String> {
    let fields = expression.split_whitespace().count();
    let full = if fields == 5 {
        format!("0 {expression}")
    } else {
        expression.to_owned()
    };
    let hint = "expected 6 fields (second minute hour day-of-month month day-of-week) or the classic 5, e.g. \"0 */5 * * * *\"";
    cron::Schedule::from_str(&full).map_err(|e| {
        // The cron crate answers "<expression>\n   ^\n<message>"; keep the message.
        let text = e.to_string();
        let detail: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "^" && *l != full.trim() && *l != expression.trim())
            .collect();
        if detail.is_empty() {
            hint.to_owned()
        } else {
            format!("{}; {hint}", detail.join(" ").trim_end_matches('.'))
        }
    })
}

fn target(
    raw: &RawProbe,
    table: Range<usize>,
    src: &Source<'_>,
) -> Result<ProbeTarget, ConfigError> {
    let given: Vec<(&str, Range<usize>)> = [
        ("url", raw.url.as_ref().map(Spanned::span)),
        ("dns", raw.dns.as_ref().map(Spanned::span)),
        ("push", raw.push.as_ref().map(Spanned::span)),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.map(|s| (k, s)))
    .collect();
    match given.as_slice() {
        [] => Err(src.error(
            table,
            "a probe needs one of: url (http, https, tcp, tls), dns or push".to_owned(),
        )),
        [_, (second, span), ..] => Err(src.error(
            span.clone(),
            format!(
                "key \"{second}\" conflicts with \"{}\": a probe has one kind",
                given[0].0
            ),
        )),
        [("url", _)] => url_target(raw, src),
        [("dns", _)] => dns_target(raw, src),
        [(_, span)] => {
            if raw.push.as_ref().is_some_and(|p| !*p.get_ref()) {
                return Err(src.error(
                    span.clone(),
                    "push = false makes no probe; remove the probe or set push = true".to_owned(),
                ));
            }
            let grace = duration(raw.grace.as_ref(), "grace", src)?.unwrap_or(DEFAULT_GRACE);
            Ok(ProbeTarget::Push { grace })
        }
    }
}

fn url_target(raw: &RawProbe, src: &Source<'_>) -> Result<ProbeTarget, ConfigError> {
    let Some(url) = &raw.url else {
        return Err(src.error(0..0, "missing url".to_owned()));
    };
    let text = url.get_ref();
    let invalid = |why: String| src.error(url.span(), format!("invalid URL \"{text}\": {why}"));
    if let Some(path) = text.strip_prefix(crate::domain::SELF_URL_PREFIX) {
        // This Beacon itself, wherever `serve --listen` puts it (resolved at start).
        if !path.starts_with('/') || url::Url::parse(&format!("http://127.0.0.1{path}")).is_err() {
            return Err(invalid(
                "expected self:/path, e.g. self:/healthz".to_owned(),
            ));
        }
        return http_target(raw, text, src).map(ProbeTarget::Http);
    }
    let parsed = url::Url::parse(text).map_err(|e| invalid(e.to_string()))?;
    let host = match parsed.host_str() {
        Some(h) if !h.is_empty() => h.trim_start_matches('[').trim_end_matches(']').to_owned(),
        _ => return Err(invalid("no host".to_owned())),
    };
    match parsed.scheme() {
        "http" | "https" => http_target(raw, text, src).map(ProbeTarget::Http),
        scheme @ ("tcp" | "tls") => {
            let port = parsed.port().ok_or_else(|| {
                invalid(format!(
                    "{scheme}:// needs a port, e.g. {scheme}://{host}:443"
                ))
            })?;
            Ok(if scheme == "tcp" {
                ProbeTarget::Tcp {
                    host,
                    port,
                    send: raw.send.as_ref().map(|s| s.get_ref().clone()),
                    expect: raw.expect.as_ref().map(|s| s.get_ref().clone()),
                }
            } else {
                ProbeTarget::Tls { host, port }
            })
        }
        scheme => Err(src.error(
            url.span(),
            format!(
                "invalid URL scheme \"{scheme}\" in \"{text}\": expected http, https, tcp, tls or self"
            ),
        )),
    }
}

fn http_target(raw: &RawProbe, url: &str, src: &Source<'_>) -> Result<HttpTarget, ConfigError> {
    let method = match &raw.method {
        Some(m) if !HTTP_METHODS.contains(&m.get_ref().as_str()) => {
            return Err(src.error(
                m.span(),
                format!(
                    "unknown HTTP method \"{}\": expected one of {}",
                    m.get_ref(),
                    HTTP_METHODS.join(", ")
                ),
            ))
        }
        Some(m) => m.get_ref().clone(),
        None => "GET".to_owned(),
    };
    let mut headers = Vec::new();
    if let Some(h) = &raw.headers {
        for (name, value) in h.get_ref() {
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid_name || value.contains(['\r', '\n']) {
                return Err(src.error(h.span(), format!("invalid HTTP header \"{name}\"")));
            }
            headers.push((name.clone(), value.clone()));
        }
    }
    let max_body_bytes = match &raw.max_body_bytes {
        Some(m) if !(1..=MAX_MAX_BODY).contains(m.get_ref()) => {
            return Err(src.error(
                m.span(),
                format!(
                    "max_body_bytes = {} is out of range: from 1 to {MAX_MAX_BODY}",
                    m.get_ref()
                ),
            ))
        }
        Some(m) => *m.get_ref(),
        None => DEFAULT_MAX_BODY,
    };
    Ok(HttpTarget {
        url: url.to_owned(),
        method,
        headers,
        body: raw.body.as_ref().map(|b| b.get_ref().clone()),
        follow_redirects: raw.follow_redirects.as_ref().is_none_or(|f| *f.get_ref()),
        insecure: raw.insecure.as_ref().is_some_and(|f| *f.get_ref()),
        max_body_bytes: usize::try_from(max_body_bytes).unwrap_or(usize::MAX),
    })
}

fn dns_target(raw: &RawProbe, src: &Source<'_>) -> Result<ProbeTarget, ConfigError> {
    let Some(name) = &raw.dns else {
        return Err(src.error(0..0, "missing dns".to_owned()));
    };
    let host = name.get_ref().trim();
    if host.is_empty() || host.contains(['/', ' ', ':']) {
        return Err(src.error(
            name.span(),
            format!("invalid DNS name \"{}\"", name.get_ref()),
        ));
    }
    let record = match &raw.record {
        Some(r) => DnsRecord::parse(r.get_ref()).ok_or_else(|| {
            let all: Vec<&str> = DnsRecord::ALL.iter().map(|r| r.as_str()).collect();
            src.error(
                r.span(),
                format!(
                    "unknown DNS record type \"{}\": expected one of {}",
                    r.get_ref(),
                    all.join(", ")
                ),
            )
        })?,
        None => DnsRecord::A,
    };
    let nameserver = match &raw.nameserver {
        Some(ns) => Some(parse_nameserver(ns.get_ref()).ok_or_else(|| {
            src.error(
                ns.span(),
                format!("invalid nameserver \"{}\": expected an IP address, optionally with a port (127.0.0.1:53)", ns.get_ref()),
            )
        })?),
        None => None,
    };
    Ok(ProbeTarget::Dns {
        name: host.to_owned(),
        record,
        nameserver,
    })
}

fn parse_nameserver(text: &str) -> Option<SocketAddr> {
    text.parse::<SocketAddr>().ok().or_else(|| {
        text.parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

/// A kind-specific key: its name, where it was given (if it was), the kinds it applies to.
type KindKey<'a> = (&'a str, Option<Range<usize>>, &'a [&'a str]);

/// Keys that only make sense for some kinds are errors elsewhere, so a typo'd kind does not
/// silently ignore them.
fn check_keys_fit_kind(
    raw: &RawProbe,
    target: &ProbeTarget,
    src: &Source<'_>,
) -> Result<(), ConfigError> {
    let kind = target.kind();
    let keyed: [KindKey<'_>; 10] = [
        ("method", raw.method.as_ref().map(Spanned::span), &["http"]),
        (
            "headers",
            raw.headers.as_ref().map(Spanned::span),
            &["http"],
        ),
        ("body", raw.body.as_ref().map(Spanned::span), &["http"]),
        (
            "follow_redirects",
            raw.follow_redirects.as_ref().map(Spanned::span),
            &["http"],
        ),
        (
            "insecure",
            raw.insecure.as_ref().map(Spanned::span),
            &["http"],
        ),
        (
            "max_body_bytes",
            raw.max_body_bytes.as_ref().map(Spanned::span),
            &["http"],
        ),
        ("send", raw.send.as_ref().map(Spanned::span), &["tcp"]),
        ("expect", raw.expect.as_ref().map(Spanned::span), &["tcp"]),
        ("record", raw.record.as_ref().map(Spanned::span), &["dns"]),
        (
            "nameserver",
            raw.nameserver.as_ref().map(Spanned::span),
            &["dns"],
        ),
    ];
    let grace = (
        "grace",
        raw.grace.as_ref().map(Spanned::span),
        &["push"][..],
    );
    for (key, span, kinds) in keyed.into_iter().chain(std::iter::once(grace)) {
        if let Some(span) = span {
            if !kinds.contains(&kind) {
                return Err(src.error(
                    span,
                    format!(
                        "key \"{key}\" applies to {} probes, not to this {kind} probe",
                        kinds.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn schedule(raw: &RawProbe, fast: bool, src: &Source<'_>) -> Result<Schedule, ConfigError> {
    match (&raw.every, &raw.cron) {
        (Some(_), Some(cron)) => Err(src.error(
            cron.span(),
            "key \"cron\" conflicts with \"every\": a probe has one schedule".to_owned(),
        )),
        (_, Some(cron)) => {
            let expression = cron.get_ref().trim();
            let schedule = parse_cron(expression).map_err(|e| {
                src.error(
                    cron.span(),
                    format!("invalid cron expression \"{expression}\": {e}"),
                )
            })?;
            if schedule.upcoming(chrono::Utc).next().is_none() {
                return Err(src.error(
                    cron.span(),
                    format!("cron expression \"{expression}\" never fires"),
                ));
            }
            // Cron's finest field is the second, so a cron probe never runs more often than
            // MIN_EVERY; its gaps may exceed a day on purpose (business hours, weekdays).
            Ok(Schedule::Cron(expression.to_owned()))
        }
        (every, None) => {
            let Some(every) = every else {
                return Ok(Schedule::Every(DEFAULT_EVERY));
            };
            let interval = duration(Some(every), "every", src)?.unwrap_or(DEFAULT_EVERY);
            let min = if fast { FAST_MIN } else { MIN_EVERY };
            if !(min..=MAX_EVERY).contains(&interval) {
                return Err(src.error(
                    every.span(),
                    format!(
                        "every = \"{}\" is out of range: from {} to {}",
                        every.get_ref(),
                        humantime::format_duration(min),
                        humantime::format_duration(MAX_EVERY)
                    ),
                ));
            }
            Ok(Schedule::Every(interval))
        }
    }
}

/// The shortest gap between runs: the interval, or for cron the smallest gap among the next
/// fifty runs (timeouts must fit the tightest one).
pub fn shortest_interval(schedule: &Schedule) -> Duration {
    match schedule {
        Schedule::Every(d) => *d,
        Schedule::Cron(expression) => cron_gap(expression).unwrap_or(DEFAULT_EVERY),
    }
}

/// The smallest gap among the next fifty firings of a cron expression; `None` if it does not
/// parse or fires fewer than twice.
pub fn cron_gap(expression: &str) -> Option<Duration> {
    let parsed = parse_cron(expression).ok()?;
    let reference = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let fires: Vec<_> = parsed.after(&reference).take(50).collect();
    fires
        .windows(2)
        .filter_map(|w| (w[1] - w[0]).to_std().ok())
        .min()
}
