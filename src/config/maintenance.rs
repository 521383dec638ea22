//! `[[maintenance]]`: recurring maintenance windows. The serde mirror, the validation, and the
//! rule checks the operator API shares ([`parse_repeat`], [`check_duration`]), so a rule is
//! judged the same wherever it comes from.

use super::validate::{duration, non_empty};
use super::{parse_cron, ConfigError, Source};
use crate::domain::{slug, Config, RecurringMaintenance, Repeat, WeeklyAt};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMaintenance {
    /// Stable name of the rule (default: the title's slug); its windows are keyed by it.
    pub id: Option<Spanned<String>>,
    pub title: Spanned<String>,
    pub message: Option<String>,
    pub channels: Option<Vec<Spanned<String>>>,
    pub cron: Option<Spanned<String>>,
    pub weekly: Option<Spanned<String>>,
    pub duration: Option<Spanned<String>>,
    pub auto_start: Option<bool>,
    pub auto_end: Option<bool>,
}

/// A rule refused: which key is wrong and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub key: &'static str,
    pub message: String,
}

/// The schedule of a rule from its `cron` or `weekly` text: exactly one must be given, the
/// cron expression must parse and fire, the weekly rule must read like `sun 02:00`.
pub fn parse_repeat(cron: Option<&str>, weekly: Option<&str>) -> Result<Repeat, RuleError> {
    match (cron, weekly) {
        (Some(_), Some(_)) => Err(RuleError {
            key: "weekly",
            message: "key \"weekly\" conflicts with \"cron\": a maintenance rule has one schedule"
                .into(),
        }),
        (None, None) => Err(RuleError {
            key: "cron",
            message: "a maintenance rule needs a schedule: cron = \"0 2 * * SUN\" or weekly = \"sun 02:00\"".into(),
        }),
        (Some(expression), None) => {
            let expression = expression.trim();
            let schedule = parse_cron(expression).map_err(|e| RuleError {
                key: "cron",
                message: format!("invalid cron expression \"{expression}\": {e}"),
            })?;
            if schedule.upcoming(chrono::Utc).next().is_none() {
                return Err(RuleError {
                    key: "cron",
                    message: format!("cron expression \"{expression}\" never fires"),
                });
            }
            Ok(Repeat::Cron(expression.to_owned()))
        }
        (None, Some(text)) => WeeklyAt::parse(text).map(Repeat::Weekly).ok_or_else(|| RuleError {
            key: "weekly",
            message: format!(
                "invalid weekly rule \"{text}\": expected a day and a UTC time like \"sun 02:00\""
            ),
        }),
    }
}

/// The smallest gap between two starts of `repeat` (over the next fifty for cron).
pub fn shortest_gap(repeat: &Repeat) -> Duration {
    const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
    match repeat {
        Repeat::Weekly(_) => WEEK,
        Repeat::Cron(expression) => super::probe::cron_gap(expression).unwrap_or(WEEK),
    }
}

/// A window must end before the rule's next one starts: overlapping windows of one rule
/// would be one long window announced twice.
pub fn check_duration(repeat: &Repeat, length: Duration) -> Result<(), RuleError> {
    let gap = shortest_gap(repeat);
    if length > gap {
        return Err(RuleError {
            key: "duration",
            message: format!(
                "duration {} is longer than the {} between two windows of this rule",
                humantime::format_duration(length),
                humantime::format_duration(gap)
            ),
        });
    }
    Ok(())
}

pub(super) fn maintenance(
    raw: Vec<Spanned<RawMaintenance>>,
    config: &Config,
    src: &Source<'_>,
) -> Result<Vec<RecurringMaintenance>, ConfigError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut rules = Vec::with_capacity(raw.len());
    for spanned in raw {
        let table = spanned.span();
        let raw = spanned.into_inner();
        let title_span = raw.title.span();
        let title = non_empty(Some(raw.title), "title", src)?.unwrap_or_default();
        let (id, id_span) = match raw.id {
            Some(id) => {
                let text = id.get_ref();
                if text.is_empty()
                    || !text.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
                    })
                {
                    return Err(src.error(
                        id.span(),
                        format!("invalid maintenance id \"{text}\": use lowercase letters, digits, '-' and '_'"),
                    ));
                }
                (text.clone(), id.span())
            }
            None => (slug(&title), title_span),
        };
        if let Some(first_line) = seen.get(&id) {
            return Err(src.error(
                id_span,
                format!("duplicate maintenance id \"{id}\" (first defined at line {first_line}); give each [[maintenance]] its own id"),
            ));
        }
        seen.insert(id.clone(), src.position(id_span.start).0);

        let span_of = |key: &str| match key {
            "cron" => raw.cron.as_ref().map(Spanned::span),
            "weekly" => raw.weekly.as_ref().map(Spanned::span),
            _ => raw.duration.as_ref().map(Spanned::span),
        };
        let repeat = parse_repeat(
            raw.cron.as_ref().map(|c| c.get_ref().as_str()),
            raw.weekly.as_ref().map(|w| w.get_ref().as_str()),
        )
        .map_err(|e| src.error(span_of(e.key).unwrap_or(table.clone()), e.message))?;
        let Some(length) = duration(raw.duration.as_ref(), "duration", src)? else {
            return Err(src.error(
                table,
                "missing key \"duration\" in [[maintenance]] (how long each window lasts, e.g. \"2h\")".into(),
            ));
        };
        check_duration(&repeat, length)
            .map_err(|e| src.error(span_of(e.key).unwrap_or(table.clone()), e.message))?;

        let mut channels = Vec::new();
        for channel in raw.channels.unwrap_or_default() {
            if !config.knows_channel_key(channel.get_ref()) {
                return Err(src.error(
                    channel.span(),
                    format!(
                        "unknown channel or group \"{}\" in [[maintenance]] channels",
                        channel.get_ref()
                    ),
                ));
            }
            channels.push(channel.into_inner());
        }
        rules.push(RecurringMaintenance {
            key: format!("config:{id}"),
            title,
            message: raw.message.unwrap_or_default(),
            channels,
            repeat,
            duration_ms: i64::try_from(length.as_millis()).unwrap_or(i64::MAX),
            auto_start: raw.auto_start.unwrap_or(true),
            auto_end: raw.auto_end.unwrap_or(true),
        });
    }
    Ok(rules)
}
