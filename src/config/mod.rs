//! Loads and validates `probes.toml` into [`domain::Config`](crate::domain::Config).
//!
//! Owns: the file format, its defaults and every message about a bad file. May use: `domain`.
//! Two phases, as in ripgrep: [`raw`] mirrors the TOML with serde (unknown keys rejected, spans
//! kept), then [`validate`] turns it into domain types or a [`ConfigError`] that names the file,
//! line, column and the offending key or value.

mod auth;
mod holidays;
mod location;
mod maintenance;
mod notify;
mod page;
mod probe;
mod raw;
mod server;
mod validate;

pub use maintenance::{check_duration, parse_repeat, shortest_gap, RuleError};
pub use probe::{parse_cron, shortest_interval};

use crate::domain::Config;
use std::ops::Range;
use std::path::Path;

/// The `probes.toml` shipped at the repository root, embedded so tests can check it.
pub const SHIPPED: &str = include_str!("../../probes.toml");

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// A syntax, type or semantic error at a place in the file.
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// Reads and validates the file at `path`; errors are reported against the path as given.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&path.display().to_string(), &text)
}

/// Validates configuration text; `file` names it in error messages.
pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
    let source = Source { file, text };
    let raw: raw::RawFile = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        // A missing key is reported at its table's header, which names the table; anything
        // else at a header (a table given twice, a table where a list was expected) is about
        // the header's last key, in the table above it.
        // Syntax errors keep toml's wording; errors about a value name its key and table.
        let data = raw::is_data_error(e.message());
        let (table, key) = match source.header_key_at(span.start) {
            Some((key, parent)) if data && !e.message().starts_with("missing field") => {
                (parent, Some(key))
            }
            _ => (
                source.table_at(span.start),
                source
                    .key_at(span.start)
                    .or_else(|| data.then(|| source.key_starting_at(span.start)).flatten()),
            ),
        };
        let message = raw::describe_serde_error(e.message(), &table, key);
        source.error(span, message)
    })?;
    validate::validate(raw, &source)
}

/// The text being validated, for turning byte spans into positions.
pub(crate) struct Source<'a> {
    file: &'a str,
    text: &'a str,
}

impl Source<'_> {
    /// The directory of the file being validated: files it names (`holidays_ics`) are
    /// relative to it, as a reader of the file expects.
    pub(crate) fn dir(&self) -> &Path {
        Path::new(self.file)
            .parent()
            .unwrap_or_else(|| Path::new(""))
    }

    /// An error at the start of `span`.
    pub(crate) fn error(&self, span: Range<usize>, message: String) -> ConfigError {
        let (line, column) = self.position(span.start);
        ConfigError::Invalid {
            file: self.file.to_owned(),
            line,
            column,
            message,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        (line, column)
    }

    /// The key whose value starts at `offset` (`key = value` on one line), if any.
    pub(crate) fn key_at(&self, offset: usize) -> Option<String> {
        let before = self.text.get(..offset.min(self.text.len()))?;
        let line = before.rsplit('\n').next()?;
        let (key, _) = line.split_once('=')?;
        let key = key.trim();
        (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
    }

    /// The key that starts a line at `offset` (where toml points at a key given twice).
    pub(crate) fn key_starting_at(&self, offset: usize) -> Option<String> {
        let offset = offset.min(self.text.len());
        let line = self.text.get(..offset)?.rsplit('\n').next()?;
        if !line.trim().is_empty() {
            return None;
        }
        let (key, _) = self.text.get(offset..)?.lines().next()?.split_once('=')?;
        let key = key.trim().trim_matches(['"', '\'']);
        (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
    }

    /// At a table header: the header's key at `offset` (its last one at the header's start)
    /// and the table that key belongs to, e.g. `probe` in `[[channel]]` for
    /// `[channel.probe]`. `None` away from headers.
    pub(crate) fn header_key_at(&self, offset: usize) -> Option<(String, String)> {
        let offset = offset.min(self.text.len());
        let line_start = self
            .text
            .get(..offset)
            .and_then(|b| b.rfind('\n'))
            .map_or(0, |i| i + 1);
        let line = self.text.get(line_start..)?.lines().next()?;
        let indent = line.len() - line.trim_start().len();
        if !line.trim_start().starts_with('[') {
            return None;
        }
        let header = header(line);
        let brackets = if header.starts_with("[[") { 2 } else { 1 };
        let name = header.trim_matches(['[', ']']);
        let keys: Vec<&str> = name.split('.').collect();
        let inside = offset.saturating_sub(line_start + indent);
        let index = if inside == 0 {
            keys.len() - 1
        } else {
            let mut end = brackets;
            keys.iter()
                .position(|k| {
                    end += k.len() + 1;
                    inside < end
                })
                .unwrap_or(keys.len() - 1)
        };
        let unquote = |k: &str| k.trim().trim_matches(['"', '\'']).to_owned();
        let key = unquote(keys.get(index)?);
        let parent: Vec<String> = keys.get(..index)?.iter().map(|k| unquote(k)).collect();
        Some((key, self.table_named(line_start, &parent.join("."))))
    }

    /// The header before `before` that opens the table `name` (`[[channel]]` for `channel`),
    /// or `the top level` for no name.
    fn table_named(&self, before: usize, name: &str) -> String {
        if name.is_empty() {
            return "the top level".to_owned();
        }
        self.text
            .get(..before)
            .unwrap_or("")
            .lines()
            .filter(|l| l.trim_start().starts_with('['))
            .map(header)
            .rfind(|h| h.trim_matches(['[', ']']) == name)
            .unwrap_or_else(|| format!("[{name}]"))
    }

    /// The header of the table that contains `offset`, e.g. `[[channel.probe]]`, or
    /// `the top level` before any header. An offset at the start of a header line is that
    /// table (a missing key); inside a header it is the parent table (an unknown table name).
    pub(crate) fn table_at(&self, offset: usize) -> String {
        let offset = offset.min(self.text.len());
        let line_start = self
            .text
            .get(..offset)
            .and_then(|b| b.rfind('\n'))
            .map_or(0, |i| i + 1);
        let line = self.text.get(line_start..).unwrap_or("");
        let line = line.lines().next().unwrap_or("");
        let indent = line.len() - line.trim_start().len();
        let at_header = line.trim_start().starts_with('[');
        let inside = offset.saturating_sub(line_start + indent);
        if at_header && inside == 0 {
            return header(line);
        }
        let headers_before: Vec<&str> = self
            .text
            .get(..line_start)
            .unwrap_or("")
            .lines()
            .filter(|l| l.trim_start().starts_with('['))
            .collect();
        if at_header {
            let parent = line
                .trim_start()
                .get(..inside)
                .unwrap_or("")
                .trim_start_matches('[')
                .trim_end_matches('.')
                .trim();
            return self.table_named(line_start, parent);
        }
        headers_before
            .last()
            .map(|l| header(l))
            .unwrap_or_else(|| "the top level".to_owned())
    }
}

/// The `[table]` or `[[array]]` part of a header line, without trailing comments.
fn header(line: &str) -> String {
    let l = line.trim();
    let close = if l.starts_with("[[") { "]]" } else { "]" };
    match l.find(close) {
        Some(end) => l.get(..end + close.len()).unwrap_or(l).to_owned(),
        None => l.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_probes_toml_is_valid() {
        let config = parse("probes.toml", SHIPPED).expect("shipped probes.toml");
        assert!(config.channels.iter().any(|c| c.in_commitment));
        assert_eq!(config.page.name, "Bitrix24 Support");
        assert_eq!(config.page.links[0].label, "Contact support");
        assert!(
            config
                .channels
                .iter()
                .any(|c| !c.in_commitment && c.probes.is_empty()),
            "the product itself is a declared-only component outside the commitment"
        );
    }

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let s = Source {
            file: "f",
            text: "ab\nçd\n",
        };
        assert_eq!(s.position(0), (1, 1));
        assert_eq!(s.position(3), (2, 1));
        assert_eq!(s.position(5), (2, 2));
        assert_eq!(s.position(999), (3, 1));
    }

    #[test]
    fn table_context_names_the_enclosing_header() {
        let s = Source {
            file: "f",
            text: "a = 1\n[service]\nx = 1\n[[channel]] # c\ny = 2\n",
        };
        assert_eq!(s.table_at(2), "the top level");
        assert_eq!(s.table_at(18), "[service]");
        assert_eq!(s.table_at(40), "[[channel]]");
        assert_eq!(s.table_at(22), "[[channel]]", "start of its own header");
        let nested = Source {
            file: "f",
            text: "[[channel]]\nid = 1\n[[channel.prob]]\n",
        };
        assert_eq!(
            nested.table_at(29),
            "[[channel]]",
            "inside a header: the parent"
        );
    }
}
