//! Incident messages are Markdown, rendered safely: raw HTML in a message is shown as text,
//! and links may only be http(s) or mailto.

use maud::{Markup, PreEscaped};
use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

pub(super) fn render(text: &str) -> Markup {
    let events = Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH).map(|event| match event {
        // Raw HTML becomes text, escaped on output.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::End(pulldown_cmark::TagEnd::Image) => Event::End(pulldown_cmark::TagEnd::Link),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    PreEscaped(out)
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
    {
        url
    } else {
        CowStr::Borrowed("#")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_script_urls_are_neutralised() {
        let out = render(
            "**Down** <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://e.test)",
        )
        .into_string();
        assert!(out.contains("<strong>Down</strong>"));
        assert!(
            out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{out}"
        );
        assert!(!out.contains("<script"), "{out}");
        assert!(out.contains("href=\"#\""), "{out}");
        assert!(out.contains("href=\"https://e.test\""));
    }
}
