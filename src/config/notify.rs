//! `[notify]` and its `[[notify.webhook]]` tables: the serde mirror and the validation, kept
//! together so the notification keys live in one file.

use super::validate::{duration, non_empty};
use super::{ConfigError, Source};
use crate::domain::{NotifyEventKind, NotifySettings, Secret, Webhook, WebhookFormat};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use toml::Spanned;

/// Most attempts a notification may be given; more would keep a dead receiver's queue busy
/// for days.
const MAX_ATTEMPTS: i64 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub retry_base: Option<Spanned<String>>,
    pub retry_max: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub max_attempts: Option<Spanned<i64>>,
    #[serde(default, rename = "webhook")]
    pub webhooks: Vec<RawWebhook>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub url: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub events: Option<Spanned<Vec<Spanned<String>>>>,
    pub format: Option<Spanned<String>>,
    pub secret: Option<Spanned<String>>,
}

/// By hand so a debug print of the raw file never shows the secret.
impl fmt::Debug for RawWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawWebhook")
            .field("name", &self.name)
            .field("events", &self.events)
            .field("format", &self.format)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

pub(super) fn notify(
    raw: Option<RawNotify>,
    src: &Source<'_>,
) -> Result<NotifySettings, ConfigError> {
    let defaults = NotifySettings::default();
    let Some(raw) = raw else { return Ok(defaults) };
    let retry_base =
        duration(raw.retry_base.as_ref(), "retry_base", src)?.unwrap_or(defaults.retry_base);
    let retry_max =
        duration(raw.retry_max.as_ref(), "retry_max", src)?.unwrap_or(defaults.retry_max);
    if retry_max < retry_base {
        let span = raw
            .retry_max
            .as_ref()
            .or(raw.retry_base.as_ref())
            .map_or(0..0, Spanned::span);
        return Err(src.error(
            span,
            format!(
                "retry_max {} is shorter than retry_base {}: the delay grows from retry_base up to retry_max",
                humantime::format_duration(retry_max),
                humantime::format_duration(retry_base)
            ),
        ));
    }
    let timeout = duration(raw.timeout.as_ref(), "timeout", src)?.unwrap_or(defaults.timeout);
    let max_attempts = match raw.max_attempts {
        None => defaults.max_attempts,
        Some(n) => match u32::try_from(*n.get_ref()) {
            Ok(v) if (1..=MAX_ATTEMPTS).contains(&i64::from(v)) => v,
            _ => {
                return Err(src.error(
                    n.span(),
                    format!(
                        "max_attempts = {} is out of range: from 1 to {MAX_ATTEMPTS}",
                        n.get_ref()
                    ),
                ))
            }
        },
    };

    let mut names: HashMap<String, usize> = HashMap::new();
    let mut webhooks = Vec::with_capacity(raw.webhooks.len());
    for raw_hook in raw.webhooks {
        let span = raw_hook
            .name
            .as_ref()
            .map_or(raw_hook.url.span(), Spanned::span);
        let hook = webhook(raw_hook, src)?;
        if let Some(first_line) = names.get(&hook.name) {
            return Err(src.error(
                span,
                format!(
                    "duplicate webhook name \"{}\" (first defined at line {first_line}); give each webhook its own name",
                    hook.name
                ),
            ));
        }
        names.insert(hook.name.clone(), src.position(span.start).0);
        webhooks.push(hook);
    }
    Ok(NotifySettings {
        webhooks,
        retry_base,
        retry_max,
        timeout,
        max_attempts,
    })
}

fn webhook(raw: RawWebhook, src: &Source<'_>) -> Result<Webhook, ConfigError> {
    let text = raw.url.get_ref();
    let host = match url::Url::parse(text) {
        Err(e) => return Err(src.error(raw.url.span(), format!("invalid URL \"{text}\": {e}"))),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            return Err(src.error(
                raw.url.span(),
                format!(
                    "invalid URL scheme \"{}\" in \"{text}\": a webhook is http or https",
                    u.scheme()
                ),
            ))
        }
        Ok(u) => u.host_str().unwrap_or_default().to_owned(),
    };
    let name = non_empty(raw.name, "name", src)?.unwrap_or(host);
    let events = match raw.events {
        None => NotifyEventKind::ALL.to_vec(),
        Some(list) => {
            if list.get_ref().is_empty() {
                return Err(src.error(
                    list.span(),
                    format!(
                        "events must name at least one of {}; leave the key out for all of them",
                        event_names()
                    ),
                ));
            }
            let mut events = Vec::new();
            for item in list.into_inner() {
                let kind = NotifyEventKind::parse(item.get_ref()).ok_or_else(|| {
                    src.error(
                        item.span(),
                        format!(
                            "unknown event \"{}\" in events: expected {}",
                            item.get_ref(),
                            event_names()
                        ),
                    )
                })?;
                if events.contains(&kind) {
                    return Err(
                        src.error(item.span(), format!("duplicate event \"{kind}\" in events"))
                    );
                }
                events.push(kind);
            }
            events
        }
    };
    let format = match raw.format {
        None => WebhookFormat::default(),
        Some(f) => match f.get_ref().as_str() {
            "json" => WebhookFormat::Json,
            "slack" => WebhookFormat::Slack,
            other => {
                return Err(src.error(
                    f.span(),
                    format!("unknown format \"{other}\": expected json or slack"),
                ))
            }
        },
    };
    let secret = non_empty(raw.secret, "secret", src)?.map(Secret::new);
    Ok(Webhook {
        name,
        url: raw.url.into_inner(),
        events,
        secret,
        format,
    })
}

fn event_names() -> String {
    NotifyEventKind::ALL.map(NotifyEventKind::as_str).join(", ")
}

#[cfg(test)]
mod tests {
    use crate::domain::{NotifyEventKind, WebhookFormat};
    use std::time::Duration;

    #[test]
    fn webhook_defaults_and_redacted_debug() {
        let config = crate::config::parse(
            "probes.toml",
            "[service]\nallow_empty = true\n[notify]\nretry_base = \"100ms\"\n\n[[notify.webhook]]\nurl = \"https://hooks.example.test/services/abc\"\nsecret = \"s3cret\"\n\n[[notify.webhook]]\nname = \"chat\"\nurl = \"http://127.0.0.1:9/x\"\nevents = [\"incident_update\"]\nformat = \"slack\"\n",
        )
        .expect("valid");
        let notify = &config.notify;
        assert_eq!(notify.retry_base, Duration::from_millis(100));
        assert_eq!(notify.retry_max, Duration::from_secs(600));
        assert_eq!(notify.timeout, Duration::from_secs(10));
        assert_eq!(notify.max_attempts, 10);
        let [first, second] = notify.webhooks.as_slice() else {
            panic!("two webhooks: {notify:?}")
        };
        assert_eq!(first.name, "hooks.example.test");
        assert_eq!(first.events, NotifyEventKind::ALL.to_vec());
        assert_eq!(first.format, WebhookFormat::Json);
        assert_eq!(first.secret.as_ref().map(|s| s.expose()), Some("s3cret"));
        assert_eq!(second.name, "chat");
        assert_eq!(second.events, vec![NotifyEventKind::IncidentUpdate]);
        assert_eq!(second.format, WebhookFormat::Slack);
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("services/abc"),
            "{debug}"
        );
    }

    #[test]
    fn no_notify_table_means_no_webhooks() {
        let config =
            crate::config::parse("probes.toml", "[service]\nallow_empty = true\n").expect("valid");
        assert!(config.notify.webhooks.is_empty());
    }
}
