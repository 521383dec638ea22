//! `[page]`: how the public status page presents itself (name, public URL, logo, links).

/// The public page's identity; every field is optional in `probes.toml`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageSettings {
    /// Shown as "<name> status"; `[service] name` when not set.
    pub name: String,
    /// The public base URL without a trailing slash (`https://status.example.com`), for the
    /// Statuspage v2 `page.url` and incident `shortlink`s; site-relative links when unset.
    pub url: Option<String>,
    /// An http(s) URL or a site-relative path (`/logo.svg`), shown with the name as alt text.
    pub logo: Option<String>,
    /// Links in the page header, in order (e.g. "Contact support").
    pub links: Vec<PageLink>,
}

/// One header link.
#[derive(Debug, Clone, PartialEq)]
pub struct PageLink {
    pub label: String,
    /// http(s), mailto: or a site-relative path.
    pub url: String,
}

impl PageSettings {
    /// The page's own address of `path` (which starts with `/`): absolute when `url` is set.
    pub fn link_to(&self, path: &str) -> String {
        match &self.url {
            Some(base) => format!("{base}{path}"),
            None => path.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_absolute_only_with_a_public_url() {
        let mut page = PageSettings::default();
        assert_eq!(page.link_to("/incidents/7"), "/incidents/7");
        page.url = Some("https://status.example.com".into());
        assert_eq!(
            page.link_to("/incidents/7"),
            "https://status.example.com/incidents/7"
        );
        assert_eq!(page.link_to("/"), "https://status.example.com/");
    }
}
