//! Serde mirror of `probes.toml`. Every table rejects unknown keys; values that are checked
//! later keep their byte span so errors can point at them.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub service: Option<RawService>,
    #[serde(default, rename = "channel")]
    pub channels: Vec<RawChannel>,
    pub notify: Option<super::notify::RawNotify>,
    pub tickets: Option<RawTickets>,
    pub auth: Option<super::auth::RawAuth>,
    #[serde(default)]
    pub maintenance: Vec<Spanned<super::maintenance::RawMaintenance>>,
    pub page: Option<super::page::RawPage>,
    pub server: Option<super::server::RawServer>,
    #[serde(default)]
    pub location: Vec<Spanned<super::location::RawLocation>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTickets {
    /// `calendar` (C1, default) or `tier2` (C2) for Medium and Low.
    pub calendar: Option<Spanned<String>>,
    pub holidays: Option<Vec<Spanned<String>>>,
    /// An iCalendar file of more holidays, relative to the configuration file.
    pub holidays_ics: Option<Spanned<String>>,
    pub targets: Option<RawTargets>,
    pub waiver_requires_impact: Option<bool>,
    pub status_page_counts_as_response: Option<bool>,
    pub maintenance_never_waives: Option<bool>,
    /// `receipt` (default) or `change`: where a re-targeted clock is measured from.
    pub retarget_from: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTargets {
    pub critical: Option<Spanned<String>>,
    pub high: Option<Spanned<String>>,
    pub medium: Option<Spanned<String>>,
    pub low: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub name: Option<Spanned<String>>,
    pub location: Option<Spanned<String>>,
    /// Where a probe runs when it names no `locations` (default: the server's own).
    pub default_locations: Option<Spanned<Vec<Spanned<String>>>>,
    pub commitment: Option<Spanned<f64>>,
    pub partial_weight: Option<Spanned<f64>>,
    pub maintenance_counts_as_downtime: Option<bool>,
    pub connectivity_check: Option<Spanned<String>>,
    pub retention: Option<Spanned<String>>,
    pub public_reports: Option<bool>,
    pub report_schedule: Option<Spanned<String>>,
    pub report_dir: Option<Spanned<String>>,
    pub auto_publish: Option<bool>,
    /// Run without any channel (refused otherwise: an empty file is more often a mistake).
    pub allow_empty: Option<bool>,
    /// For tests: intervals and timeouts below Beacon's minimums of 1 s and 100 ms.
    pub allow_fast_probes: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChannel {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    pub group: Option<Spanned<String>>,
    pub in_commitment: Option<bool>,
    #[serde(default, rename = "probe")]
    pub probes: Vec<Spanned<RawProbe>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProbe {
    pub name: Option<Spanned<String>>,
    // Exactly one of `url` (http, https, tcp, tls), `dns` or `push` says the kind.
    pub url: Option<Spanned<String>>,
    pub dns: Option<Spanned<String>>,
    pub push: Option<Spanned<bool>>,
    // Schedule: `every` or `cron`.
    pub every: Option<Spanned<String>>,
    pub cron: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub failure_threshold: Option<Spanned<i64>>,
    pub success_threshold: Option<Spanned<i64>>,
    // Gatus-style conditions.
    pub conditions: Option<Vec<Spanned<String>>>,
    pub degraded_if: Option<Vec<Spanned<String>>>,
    // HTTP.
    pub method: Option<Spanned<String>>,
    pub headers: Option<Spanned<BTreeMap<String, String>>>,
    pub body: Option<Spanned<String>>,
    pub follow_redirects: Option<Spanned<bool>>,
    pub insecure: Option<Spanned<bool>>,
    pub max_body_bytes: Option<Spanned<i64>>,
    // TCP.
    pub send: Option<Spanned<String>>,
    pub expect: Option<Spanned<String>>,
    // DNS.
    pub record: Option<Spanned<String>>,
    pub nameserver: Option<Spanned<String>>,
    // Push.
    pub grace: Option<Spanned<String>>,
    // Where it runs from, and how many of those places must agree.
    pub locations: Option<Spanned<Vec<Spanned<String>>>>,
    pub quorum: Option<Spanned<i64>>,
}

/// Whether toml's message is about a value that does not fit the file's format (serde's
/// errors), rather than about TOML syntax.
pub(super) fn is_data_error(message: &str) -> bool {
    [
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
        "unknown field",
        "missing field",
        "duplicate key",
        "duplicate field",
    ]
    .iter()
    .any(|start| message.trim().starts_with(start))
}

/// Rewrites serde's wording into Beacon's: keys rather than fields, with the table named.
pub(super) fn describe_serde_error(message: &str, table: &str, key: Option<String>) -> String {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = expected
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .replace("` or `", ", ")
            .replace('`', "");
        let hint = if expected.is_empty() || expected.starts_with(", there are no fields") {
            String::new()
        } else {
            format!(" (expected one of: {expected})")
        };
        return format!("unknown key \"{key}\" in {table}{hint}");
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.trim_end_matches('`');
        return format!("missing key \"{key}\" in {table}");
    }
    // The serde mirror's type names mean nothing to the file's author.
    let message = match message.split_once(", expected struct ") {
        Some((found, _)) => format!("{found}, expected a table"),
        None => message.to_owned(),
    };
    match key {
        Some(key) if message == "duplicate key" => {
            format!("duplicate key \"{key}\" in {table}: each key is given once")
        }
        Some(key) => format!("invalid value for key \"{key}\" in {table}: {message}"),
        None => message,
    }
}
