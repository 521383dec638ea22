//! What a webhook receives: Beacon's JSON object or a Slack-compatible `{"text": ...}`.
//!
//! Bodies are rendered once, when the notification is enqueued, and stored: every attempt
//! sends (and signs) the same bytes, and a later rename of a channel does not rewrite a
//! notification about the past.

use super::NotifyEvent;
use crate::domain::{State, Timestamp, WebhookFormat};
use serde::Serialize;

/// The body for a webhook of `format`; `service` is `[service] name`, `created_at` when the
/// notification was enqueued.
pub(super) fn render(
    event: &NotifyEvent,
    format: WebhookFormat,
    service: &str,
    created_at: Timestamp,
) -> serde_json::Result<String> {
    match format {
        WebhookFormat::Json => json(event, service, created_at),
        WebhookFormat::Slack => serde_json::to_string(&SlackBody {
            text: slack_text(event, service),
        }),
    }
}

/// Field order is fixed by these structs, so the JSON is stable byte for byte.
#[derive(Serialize)]
struct ChannelStateBody<'a> {
    event: &'static str,
    service: &'a str,
    channel: ChannelRef<'a>,
    state: &'static str,
    /// The Statuspage v2 name of the state; null for unknown.
    component_status: Option<&'static str>,
    since: String,
    created_at: String,
}

#[derive(Serialize)]
struct ChannelRef<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct IncidentUpdateBody<'a> {
    event: &'static str,
    service: &'a str,
    incident: IncidentRef<'a>,
    update: UpdateRef<'a>,
    created_at: String,
}

#[derive(Serialize)]
struct IncidentRef<'a> {
    id: &'a str,
    title: &'a str,
    status: &'a str,
    impact: &'a str,
    url: Option<&'a str>,
}

#[derive(Serialize)]
struct UpdateRef<'a> {
    message: &'a str,
    published_at: String,
}

#[derive(Serialize)]
struct SlackBody {
    text: String,
}

fn json(event: &NotifyEvent, service: &str, created_at: Timestamp) -> serde_json::Result<String> {
    let kind = event.kind().as_str();
    match event {
        NotifyEvent::ChannelState {
            channel,
            channel_name,
            state,
            since,
        } => serde_json::to_string(&ChannelStateBody {
            event: kind,
            service,
            channel: ChannelRef {
                id: channel,
                name: channel_name,
            },
            state: state.as_str(),
            component_status: state.v2_component_status(),
            since: since.to_rfc3339(),
            created_at: created_at.to_rfc3339(),
        }),
        NotifyEvent::TicketDueSoon {
            ticket_id,
            external_id,
            severity,
            subject,
            deadline,
        } => serde_json::to_string(&serde_json::json!({
            "event": kind,
            "service": service,
            "ticket": {
                "id": ticket_id,
                "external_id": external_id,
                "severity": severity,
                "subject": subject,
                "deadline": deadline.to_rfc3339(),
            },
            "created_at": created_at.to_rfc3339(),
        })),
        NotifyEvent::IncidentUpdate {
            incident_id,
            title,
            status,
            impact,
            message,
            published_at,
            url,
        } => serde_json::to_string(&IncidentUpdateBody {
            event: kind,
            service,
            incident: IncidentRef {
                id: incident_id,
                title,
                status,
                impact,
                url: url.as_deref(),
            },
            update: UpdateRef {
                message,
                published_at: published_at.to_rfc3339(),
            },
            created_at: created_at.to_rfc3339(),
        }),
    }
}

/// One readable line. Slack treats `&`, `<` and `>` as control characters, so names and
/// messages are escaped and cannot turn into links or mentions.
fn slack_text(event: &NotifyEvent, service: &str) -> String {
    let text = match event {
        NotifyEvent::TicketDueSoon {
            ticket_id,
            external_id,
            severity,
            subject,
            deadline,
        } => format!(
            "{service}: {severity} ticket {ticket_id} ({external_id}) \"{subject}\" has no first response; due {}",
            deadline.to_display()
        ),
        NotifyEvent::ChannelState {
            channel_name,
            state,
            since,
            ..
        } => format!(
            "{service}: {channel_name} is {} since {}",
            state_phrase(*state),
            since.to_display()
        ),
        NotifyEvent::IncidentUpdate {
            title,
            status,
            impact,
            message,
            url,
            ..
        } => {
            let mut line = format!("{service}: incident \"{title}\" is {status}");
            if !impact.is_empty() && impact != "none" {
                line.push_str(&format!(" ({impact} impact)"));
            }
            if !message.trim().is_empty() {
                line.push_str(&format!(": {}", message.trim()));
            }
            if let Some(url) = url {
                line.push_str(&format!(" {url}"));
            }
            line
        }
    };
    slack_escape(&text)
}

fn state_phrase(state: State) -> &'static str {
    match state {
        State::Up => "up",
        State::Degraded => "degraded",
        State::Partial => "partially down",
        State::Down => "down",
        State::Maintenance => "under maintenance",
        State::Unknown => "in an unknown state (not monitored)",
    }
}

fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Timestamp = Timestamp(1_795_665_600_123);

    fn down() -> NotifyEvent {
        NotifyEvent::ChannelState {
            channel: "chat".into(),
            channel_name: "Live chat".into(),
            state: State::Down,
            since: AT,
        }
    }

    fn incident(url: Option<&str>) -> NotifyEvent {
        NotifyEvent::IncidentUpdate {
            incident_id: "12".into(),
            title: "Chat <slow> & flaky".into(),
            status: "investigating".into(),
            impact: "major".into(),
            message: "We are looking into it.".into(),
            published_at: AT,
            url: url.map(str::to_owned),
        }
    }

    #[test]
    fn channel_state_json_is_stable() {
        let body = render(&down(), WebhookFormat::Json, "Support", AT.plus_ms(5)).expect("json");
        assert_eq!(
            body,
            r#"{"event":"channel_state","service":"Support","channel":{"id":"chat","name":"Live chat"},"state":"down","component_status":"major_outage","since":"2026-11-26T04:00:00.123Z","created_at":"2026-11-26T04:00:00.128Z"}"#
        );
        let unknown = NotifyEvent::ChannelState {
            channel: "chat".into(),
            channel_name: "Live chat".into(),
            state: State::Unknown,
            since: AT,
        };
        let body = render(&unknown, WebhookFormat::Json, "Support", AT).expect("json");
        assert!(body.contains(r#""component_status":null"#), "{body}");
    }

    #[test]
    fn incident_update_json_is_stable() {
        let body = render(
            &incident(Some("https://status.test/incidents/12")),
            WebhookFormat::Json,
            "Support",
            AT,
        )
        .expect("json");
        assert_eq!(
            body,
            r#"{"event":"incident_update","service":"Support","incident":{"id":"12","title":"Chat <slow> & flaky","status":"investigating","impact":"major","url":"https://status.test/incidents/12"},"update":{"message":"We are looking into it.","published_at":"2026-11-26T04:00:00.123Z"},"created_at":"2026-11-26T04:00:00.123Z"}"#
        );
    }

    #[test]
    fn slack_text_is_one_escaped_line() {
        let text = |event: &NotifyEvent| {
            let body = render(event, WebhookFormat::Slack, "Support", AT).expect("slack");
            let value: serde_json::Value = serde_json::from_str(&body).expect("valid json");
            assert_eq!(value.as_object().map(|o| o.len()), Some(1), "{body}");
            value["text"].as_str().unwrap_or_default().to_owned()
        };
        assert_eq!(
            text(&down()),
            "Support: Live chat is down since 2026-11-26 04:00:00 UTC"
        );
        assert_eq!(
            text(&incident(None)),
            "Support: incident \"Chat &lt;slow&gt; &amp; flaky\" is investigating (major impact): We are looking into it."
        );
        assert!(text(&incident(Some("https://s.test/i/12"))).ends_with(" https://s.test/i/12"));
    }
}
