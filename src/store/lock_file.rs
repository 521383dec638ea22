//! One `beacon serve` per SQLite file (issue 12, item 7). Two servers on one file would both
//! probe and both write transitions, checkpoints and notifications for the same probes, each
//! unaware of the other; SQLite's own locking keeps the file consistent but not the history.
//!
//! The guard is an exclusive `flock` on `<database>.lock` beside the database, taken before
//! the store opens and held for the whole `serve`. The kernel releases it when the process
//! ends however it ends (a crash or `kill -9` included), so a lock file left behind by a dead
//! process is simply taken over: what counts is the lock, never the file's presence. The
//! holder writes its pid and start time into the file so that the refused one can name it.
//! Other commands (`backup`, `user add`, imports) take no lock: they are meant to run beside
//! a serving Beacon.

use std::ffi::OsString;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// The lock on a database; released when dropped (the file itself stays, harmlessly).
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    /// Kept open: closing the last descriptor of this open file releases the flock.
    _file: File,
}

impl LockFile {
    /// The lock file's path, `<database>.lock`.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The process holding a lock, as written in its lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// RFC 3339 UTC, as the holder wrote it; absent if the file does not say.
    pub started: Option<String>,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock. `holder` is `None` when its file says nothing readable
    /// (for instance if it is between taking the lock and writing its pid).
    #[error("{}", held_message(database, path, holder.as_ref()))]
    Held {
        database: PathBuf,
        path: PathBuf,
        holder: Option<Holder>,
    },
    #[error("database {}: cannot open its lock file {}: {source}", database.display(), path.display())]
    Open {
        database: PathBuf,
        path: PathBuf,
        source: io::Error,
    },
    #[error("database {}: cannot lock {}: {source}", database.display(), path.display())]
    Lock {
        database: PathBuf,
        path: PathBuf,
        source: io::Error,
    },
    #[error("database {}: cannot write this process's pid into {}: {source}", database.display(), path.display())]
    Write {
        database: PathBuf,
        path: PathBuf,
        source: io::Error,
    },
}

fn held_message(database: &Path, path: &Path, holder: Option<&Holder>) -> String {
    let who = match holder {
        Some(holder) => format!("another Beacon ({holder})"),
        None => "another Beacon (its lock file does not say which process)".to_owned(),
    };
    format!(
        "{who} is using {} (lock file {}); stop it or use another --db",
        database.display(),
        path.display()
    )
}

/// `<database>.lock`: the database's file name with `.lock` appended, in the same directory.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = OsString::from(database.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the exclusive lock on `<database>.lock` without waiting (creating the file if
/// missing) and writes this process's pid and start time into it; refuses with
/// [`LockError::Held`], naming the holder, when another process has it.
pub fn acquire(database: &Path) -> Result<LockFile, LockError> {
    let path = lock_path(database);
    // Not truncated on open: until we hold the lock, its content is the holder's to read.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| LockError::Open {
            database: database.to_owned(),
            path: path.clone(),
            source,
        })?;
    match try_lock_exclusive(&file) {
        Ok(true) => {}
        Ok(false) => {
            let holder = read_holder(&mut file);
            return Err(LockError::Held {
                database: database.to_owned(),
                path,
                holder,
            });
        }
        Err(source) => {
            return Err(LockError::Lock {
                database: database.to_owned(),
                path,
                source,
            })
        }
    }
    let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    write_holder(&mut file, std::process::id(), &started).map_err(|source| LockError::Write {
        database: database.to_owned(),
        path: path.clone(),
        source,
    })?;
    Ok(LockFile { path, _file: file })
}

/// `flock(LOCK_EX | LOCK_NB)`: `Ok(false)` when another open file holds it. A flock belongs
/// to the open file description, so a second open in this same process is refused too.
fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    loop {
        // SAFETY: flock only acts on the descriptor, which `file` keeps open for the call.
        let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if result == 0 {
            return Ok(true);
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(error),
        }
    }
}

/// Replaces the file's content with `pid=<pid>` and `started=<time>` lines.
fn write_holder(file: &mut File, pid: u32, started: &str) -> io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(format!("pid={pid}\nstarted={started}\n").as_bytes())?;
    file.sync_data()
}

/// The holder named in the file, or `None` if it names none readably (never an error: the
/// refusal matters more than the details).
fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(4096).read_to_string(&mut text).ok()?;
    parse_holder(&text)
}

fn parse_holder(text: &str) -> Option<Holder> {
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    };
    let pid = value("pid")?.parse().ok()?;
    let started = value("started")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Some(Holder { pid, started })
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.started {
            Some(started) => write!(f, "pid {}, started {started}", self.pid),
            None => write!(f, "pid {}", self.pid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("beacon.db")
    }

    #[test]
    fn a_second_acquire_is_refused_naming_the_holder_pid() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = database(&dir);
        let first = acquire(&db).expect("first lock");
        assert_eq!(first.path(), dir.path().join("beacon.db.lock"));
        let error = acquire(&db).expect_err("second lock refused");
        let LockError::Held { holder, .. } = &error else {
            panic!("expected Held, got {error:?}");
        };
        let holder = holder.as_ref().expect("holder named");
        assert_eq!(holder.pid, std::process::id());
        let started = holder.started.as_deref().expect("start time written");
        assert!(
            chrono::DateTime::parse_from_rfc3339(started).is_ok(),
            "{started}"
        );
        let message = error.to_string();
        assert_eq!(
            message,
            format!(
                "another Beacon (pid {}, started {started}) is using {} (lock file {}); \
                 stop it or use another --db",
                std::process::id(),
                db.display(),
                lock_path(&db).display()
            )
        );
        assert!(!message.contains('\n'));
    }

    #[test]
    fn dropping_the_guard_releases_the_lock() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = database(&dir);
        let first = acquire(&db).expect("first lock");
        assert!(matches!(acquire(&db), Err(LockError::Held { .. })));
        drop(first);
        let again = acquire(&db).expect("lock again after release");
        assert!(again.path().exists(), "the file stays; only the lock went");
    }

    #[test]
    fn an_unreadable_holder_still_gives_a_clear_refusal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = database(&dir);
        let path = lock_path(&db);
        // Hold the flock by hand, as a process that has not written its pid yet would.
        let held = File::create(&path).expect("create lock file");
        assert!(try_lock_exclusive(&held).expect("flock"));
        std::fs::write(&path, b"\xff\xfe not a pid\n").expect("garbage");
        let error = acquire(&db).expect_err("refused");
        assert!(
            matches!(&error, LockError::Held { holder: None, .. }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!(
                "another Beacon (its lock file does not say which process) is using {} \
                 (lock file {}); stop it or use another --db",
                db.display(),
                path.display()
            )
        );
    }

    #[test]
    fn a_lock_file_left_by_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = database(&dir);
        let path = lock_path(&db);
        std::fs::write(&path, "pid=999999\nstarted=2020-01-01T00:00:00Z\n").expect("stale file");
        let lock = acquire(&db).expect("a file nobody locks is free");
        let text = std::fs::read_to_string(lock.path()).expect("read");
        let holder = parse_holder(&text).expect("our pid written");
        assert_eq!(holder.pid, std::process::id());
        assert_ne!(holder.started.as_deref(), Some("2020-01-01T00:00:00Z"));
        assert_eq!(
            text.lines().count(),
            2,
            "the old content is replaced: {text}"
        );
    }

    #[test]
    fn a_lock_file_in_a_missing_directory_is_an_open_error_naming_the_database() {
        let db = Path::new("/nonexistent/dir/b.db");
        let error = acquire(db).expect_err("no such directory");
        assert!(matches!(error, LockError::Open { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with("database /nonexistent/dir/b.db: cannot open its lock file /nonexistent/dir/b.db.lock: "),
            "{error}"
        );
    }

    #[test]
    fn holder_lines_parse_with_or_without_a_start_time() {
        assert_eq!(
            parse_holder("pid=42\nstarted=2026-12-02T01:20:00Z\n"),
            Some(Holder {
                pid: 42,
                started: Some("2026-12-02T01:20:00Z".into())
            })
        );
        assert_eq!(
            parse_holder("pid=42\n"),
            Some(Holder {
                pid: 42,
                started: None
            })
        );
        assert_eq!(parse_holder(""), None);
        assert_eq!(parse_holder("pid=-1\n"), None);
        assert_eq!(parse_holder("pidx=4\n"), None);
    }
}
