//! Incident history as feeds: `/history.atom` (Atom 1.0) and `/history.rss` (RSS 2.0).
//!
//! One entry per public update of a public incident or maintenance window, newest first, so
//! a feed reader shows every step ("investigating", "resolved"...) as it was published.
//! The XML is written by hand: two fixed shapes do not justify a writer crate, and all text
//! goes through [`xml_escape`], which is unit-tested against hostile input.

use super::AppState;
use crate::domain::{Incident, IncidentKind, IncidentUpdate, Timestamp, UpdateStatus};
use std::fmt::Write;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

/// Feed readers poll; a long history is what the page and the API are for.
const MAX_ENTRIES: usize = 50;

/// The tagging entity of every id: independent of the host name, so moving Beacon behind
/// another domain does not make readers show the whole history again as new.
const TAG: &str = "tag:beacon,2026";

/// Feed readers poll; a minute of caching in between is plenty.
pub(super) const CACHE: &str = "public, max-age=60";

/// One public update with the incident it belongs to.
struct Entry<'a> {
    incident: &'a Incident,
    update: &'a IncidentUpdate,
    published_at: Timestamp,
}

impl Entry<'_> {
    fn id(&self) -> String {
        format!(
            "{TAG}:incident-{}-update-{}",
            self.incident.id, self.update.id
        )
    }

    fn title(&self) -> String {
        format!(
            "{}: {}",
            self.incident.title,
            status_label(self.update.status)
        )
    }

    fn category(&self) -> &'static str {
        match self.incident.kind {
            IncidentKind::Incident => "incident",
            IncidentKind::Maintenance => "maintenance",
        }
    }
}

/// The public updates of public incidents (published, not hidden), newest first, at most
/// [`MAX_ENTRIES`]. Drafts and hidden incidents never reach a feed.
fn entries(incidents: &[Incident]) -> Vec<Entry<'_>> {
    let mut entries: Vec<Entry<'_>> = incidents
        .iter()
        .filter(|i| i.published_at.is_some() && !i.hidden)
        .flat_map(|incident| {
            incident.updates.iter().filter_map(move |update| {
                update.published_at.map(|published_at| Entry {
                    incident,
                    update,
                    published_at,
                })
            })
        })
        .collect();
    // Update ids break ties so the order is stable between polls.
    entries.sort_by_key(|e| std::cmp::Reverse((e.published_at, e.update.id)));
    entries.truncate(MAX_ENTRIES);
    entries
}

/// `/history.atom` and `/history.rss` from one read of the incidents, for the page cache
/// (which serves them with [`CACHE`]).
pub(super) async fn documents(app: &AppState) -> Result<(String, String), super::Error> {
    let incidents = app.store.incidents().await?;
    let entries = entries(&incidents);
    let name = &app.config().service.name;
    let now = app.clock.now();
    Ok((
        render_atom(name, &entries, now),
        render_rss(name, &entries, now),
    ))
}

fn render_atom(service: &str, entries: &[Entry<'_>], now: Timestamp) -> String {
    let updated = entries.first().map_or(now, |e| e.published_at);
    let service = xml_escape(service);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    // `write!` to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(out, "  <id>{TAG}:history</id>");
    let _ = writeln!(
        out,
        "  <title type=\"text\">{service}: incident history</title>"
    );
    let _ = writeln!(out, "  <updated>{}</updated>", updated.to_rfc3339());
    let _ = writeln!(out, "  <author><name>{service}</name></author>");
    out.push_str("  <link rel=\"alternate\" type=\"text/html\" href=\"/\"/>\n");
    for entry in entries {
        let at = entry.published_at.to_rfc3339();
        out.push_str("  <entry>\n");
        let _ = writeln!(out, "    <id>{}</id>", entry.id());
        let _ = writeln!(
            out,
            "    <title type=\"text\">{}</title>",
            xml_escape(&entry.title())
        );
        let _ = writeln!(out, "    <updated>{at}</updated>");
        let _ = writeln!(out, "    <published>{at}</published>");
        let _ = writeln!(out, "    <category term=\"{}\"/>", entry.category());
        let _ = writeln!(
            out,
            "    <content type=\"text\">{}</content>",
            xml_escape(&entry.update.message)
        );
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

fn render_rss(service: &str, entries: &[Entry<'_>], now: Timestamp) -> String {
    let updated = entries.first().map_or(now, |e| e.published_at);
    let service = xml_escape(service);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<rss version=\"2.0\">\n<channel>\n");
    let _ = writeln!(out, "  <title>{service}: incident history</title>");
    out.push_str("  <link>/</link>\n");
    let _ = writeln!(
        out,
        "  <description>Incidents and maintenance of {service}</description>"
    );
    if let Some(date) = rfc2822(updated) {
        let _ = writeln!(out, "  <lastBuildDate>{date}</lastBuildDate>");
    }
    for entry in entries {
        out.push_str("  <item>\n");
        let _ = writeln!(out, "    <guid isPermaLink=\"false\">{}</guid>", entry.id());
        let _ = writeln!(out, "    <title>{}</title>", xml_escape(&entry.title()));
        let _ = writeln!(
            out,
            "    <description>{}</description>",
            xml_escape(&entry.update.message)
        );
        let _ = writeln!(out, "    <category>{}</category>", entry.category());
        if let Some(date) = rfc2822(entry.published_at) {
            let _ = writeln!(out, "    <pubDate>{date}</pubDate>");
        }
        out.push_str("  </item>\n");
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

/// RSS dates; `None` for instants RFC 2822 cannot express (before 1900), which only a
/// corrupt database could hold: the element is then left out rather than invented.
fn rfc2822(at: Timestamp) -> Option<String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.millis()) * 1_000_000)
        .ok()?
        .format(&Rfc2822)
        .ok()
}

/// How a status reads in a title, as on the page.
fn status_label(status: UpdateStatus) -> &'static str {
    match status {
        UpdateStatus::Investigating => "Investigating",
        UpdateStatus::Identified => "Identified",
        UpdateStatus::Monitoring => "Monitoring",
        UpdateStatus::Resolved => "Resolved",
        UpdateStatus::Postmortem => "Postmortem",
        UpdateStatus::Scheduled => "Scheduled",
        UpdateStatus::InProgress => "In progress",
        UpdateStatus::Verifying => "Verifying",
        UpdateStatus::Completed => "Completed",
    }
}

/// Text for XML element content and attribute values (feeds and badges).
///
/// Markup characters become entities, so `<script>` and `]]>` stay text. Bidirectional
/// controls (U+202E...) become character references: a parser still reads the same text, but
/// they cannot reorder what someone sees when reading the raw document. Characters XML 1.0
/// forbids outright (most C0 controls, U+FFFE, U+FFFF) cannot be written even as references,
/// so they are replaced by U+FFFD rather than making the whole feed unreadable.
pub(super) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            '\u{061c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => {
                let _ = write!(out, "&#x{:X};", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_cdata_ends() {
        assert_eq!(
            xml_escape(r#"<script>alert(1)</script> ]]> & "q" 'a'"#),
            "&lt;script&gt;alert(1)&lt;/script&gt; ]]&gt; &amp; &quot;q&quot; &apos;a&apos;"
        );
    }

    #[test]
    fn escapes_bidi_controls_and_drops_forbidden_characters() {
        assert_eq!(xml_escape("a\u{202E}b\u{2066}c"), "a&#x202E;b&#x2066;c");
        assert_eq!(
            xml_escape("x\u{0}y\u{1b}z\u{ffff}"),
            "x\u{fffd}y\u{fffd}z\u{fffd}"
        );
        assert_eq!(xml_escape("line\nnext\ttab é"), "line\nnext\ttab é");
    }

    #[test]
    fn rss_dates_are_rfc_2822() {
        assert_eq!(
            rfc2822(Timestamp(1_790_000_000_000)).as_deref(),
            Some("Mon, 21 Sep 2026 14:13:20 +0000")
        );
        assert_eq!(rfc2822(Timestamp(-3_000_000_000_000)), None);
    }
}
