//! The status page's header from `[page]`: logo, name and links, and the Content-Security-Policy
//! that lets the browser load a logo from another origin (only that origin, only images).

use super::CSP;
use crate::domain::PageSettings;
use maud::{html, Markup};

/// Logo, "<name> status" and the configured links; all text escaped by maud.
pub(super) fn header(page: &PageSettings) -> Markup {
    html! {
        header class="page-header" {
            div class="brand" {
                @if let Some(logo) = &page.logo {
                    img src=(logo) alt=(page.name) height="40";
                }
                h1 { (page.name) " status" }
            }
            @if !page.links.is_empty() {
                nav aria-label="Links" {
                    ul class="links" {
                        @for link in &page.links {
                            li { a href=(link.url) { (link.label) } }
                        }
                    }
                }
            }
        }
    }
}

/// The page's policy: [`CSP`] with the logo's origin added to `img-src` when the logo lives
/// on another site; `None` when the default policy already allows it.
pub(super) fn content_security_policy(page: &PageSettings) -> Option<String> {
    let logo = page.logo.as_deref()?;
    let origin = url::Url::parse(logo).ok()?.origin();
    if !origin.is_tuple() {
        return None;
    }
    let img_src = "img-src 'self' data:";
    Some(CSP.replace(
        img_src,
        &format!("{img_src} {}", origin.ascii_serialization()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PageLink;

    fn page() -> PageSettings {
        PageSettings {
            name: "Acme & <Co>".into(),
            url: None,
            logo: Some("https://cdn.example.com/logo.svg?v=1".into()),
            links: vec![PageLink {
                label: "<script>alert(1)</script> \"Help\"".into(),
                url: "https://help.example.com/?a=1&b=\"2\"".into(),
            }],
        }
    }

    #[test]
    fn header_escapes_name_labels_and_urls() {
        let html = header(&page()).into_string();
        assert!(html.contains(r#"alt="Acme &amp; &lt;Co&gt;""#), "{html}");
        assert!(
            html.contains("<h1>Acme &amp; &lt;Co&gt; status</h1>"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;Help&quot;"),
            "{html}"
        );
        assert!(
            html.contains(r#"href="https://help.example.com/?a=1&amp;b=&quot;2&quot;""#),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
    }

    #[test]
    fn a_logo_elsewhere_adds_only_its_origin_to_img_src() {
        let csp = content_security_policy(&page()).expect("policy");
        assert!(
            csp.contains("img-src 'self' data: https://cdn.example.com;"),
            "{csp}"
        );
        assert!(
            csp.starts_with("default-src 'none'; style-src 'self';"),
            "{csp}"
        );
        let relative = PageSettings {
            logo: Some("/logo.svg".into()),
            ..page()
        };
        assert_eq!(content_security_policy(&relative), None);
    }
}
