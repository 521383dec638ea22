//! Which database `--db` (or `BEACON_DB`) names: a SQLite file path, or a PostgreSQL URL.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A database to open: see [`super::Store::connect`].
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A file beside Beacon (the default, created if missing).
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL (libpq's URL form: user, password, host, port,
    /// database, and parameters such as `sslmode` and `connect_timeout`).
    Postgres(String),
}

/// A `postgres://` URL that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("malformed PostgreSQL URL {url}: {reason}")]
pub struct MalformedUrl {
    url: String,
    reason: String,
}

impl Database {
    pub fn is_postgres(&self) -> bool {
        matches!(self, Database::Postgres(_))
    }
}

impl FromStr for Database {
    type Err = MalformedUrl;

    /// A value starting `postgres://` or `postgresql://` is a URL checked here, so a typo is
    /// refused at start (exit 2) rather than at the first connection; anything else is a path.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            value
                .parse::<postgres::Config>()
                .map_err(|e| MalformedUrl {
                    url: redact(value),
                    reason: e.to_string(),
                })?;
            Ok(Database::Postgres(value.to_owned()))
        } else {
            Ok(Database::Sqlite(PathBuf::from(value)))
        }
    }
}

/// Shown in logs and errors: a PostgreSQL URL without its password.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Database({self})")
    }
}

/// The URL with any password replaced by `***`.
pub(super) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls() {
        let cases: &[(&str, Option<bool>)] = &[
            ("beacon.db", Some(false)),
            ("/var/lib/beacon/beacon.db", Some(false)),
            ("postgres://beacon@127.0.0.1:5432/beacon", Some(true)),
            (
                "postgresql://u:p@db.example/beacon?sslmode=require",
                Some(true),
            ),
            ("postgres://u@h:notaport/db", None),
            ("postgres://u@h/db?sslmode=sometimes", None),
        ];
        for (text, expected) in cases {
            match (text.parse::<Database>(), expected) {
                (Ok(db), Some(pg)) => assert_eq!(db.is_postgres(), *pg, "{text}"),
                (Err(e), None) => assert!(e.to_string().contains("malformed"), "{e}"),
                (other, _) => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn display_never_shows_the_password() {
        let db: Database = "postgres://beacon:s3cret@db:5432/beacon"
            .parse()
            .expect("url");
        assert_eq!(db.to_string(), "postgres://beacon:***@db:5432/beacon");
        let error = "postgres://beacon:s3cret@db:x/beacon"
            .parse::<Database>()
            .expect_err("bad port");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}
