//! `[page]`: the serde mirror and the validation of the public page's name, URL, logo and
//! links, kept together so the page keys live in one file.

use super::validate::non_empty;
use super::{ConfigError, Source};
use crate::domain::{PageLink, PageSettings};
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPage {
    pub name: Option<Spanned<String>>,
    pub url: Option<Spanned<String>>,
    pub logo: Option<Spanned<String>>,
    pub links: Option<Vec<RawLink>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLink {
    pub label: Spanned<String>,
    pub url: Spanned<String>,
}

pub(super) fn page(
    raw: Option<RawPage>,
    service_name: &str,
    src: &Source<'_>,
) -> Result<PageSettings, ConfigError> {
    let Some(raw) = raw else {
        return Ok(PageSettings {
            name: service_name.to_owned(),
            ..PageSettings::default()
        });
    };
    let name = non_empty(raw.name, "name", src)?.unwrap_or_else(|| service_name.to_owned());
    let url = match raw.url {
        Some(url) => match web_url(url.get_ref()) {
            Some(u) if u.query().is_none() && u.fragment().is_none() => {
                Some(url.get_ref().trim_end_matches('/').to_owned())
            }
            _ => {
                return Err(src.error(
                    url.span(),
                    format!(
                        "invalid url \"{}\" in [page]: expected the page's public http or https address, like \"https://status.example.com\"",
                        url.get_ref()
                    ),
                ))
            }
        },
        None => None,
    };
    let logo = match raw.logo {
        Some(logo) if site_relative(logo.get_ref()) || web_url(logo.get_ref()).is_some() => {
            Some(logo.into_inner())
        }
        Some(logo) => {
            return Err(src.error(
                logo.span(),
                format!(
                    "invalid logo \"{}\" in [page]: expected an http or https URL or a site-relative path like \"/logo.svg\"",
                    logo.get_ref()
                ),
            ))
        }
        None => None,
    };
    let mut links = Vec::new();
    for link in raw.links.unwrap_or_default() {
        let label = non_empty(Some(link.label), "label", src)?.unwrap_or_default();
        let target = link.url.get_ref();
        let mailto = target.starts_with("mailto:") && target.len() > "mailto:".len();
        if !(site_relative(target) || mailto || web_url(target).is_some()) {
            return Err(src.error(
                link.url.span(),
                format!(
                    "invalid url \"{target}\" of link \"{label}\" in [page]: expected an http or https URL, mailto: or a site-relative path"
                ),
            ));
        }
        links.push(PageLink {
            label,
            url: link.url.into_inner(),
        });
    }
    Ok(PageSettings {
        name,
        url,
        logo,
        links,
    })
}

/// An absolute http(s) URL with a host.
fn web_url(text: &str) -> Option<url::Url> {
    url::Url::parse(text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// `/path` on this site (not `//host`, which leaves it), without spaces or control characters.
fn site_relative(text: &str) -> bool {
    text.starts_with('/')
        && !text.starts_with("//")
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
}
