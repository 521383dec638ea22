//! `[auth]`: how operator passwords are hashed and how long sessions and login attempts last.

use std::time::Duration;

/// Account and session settings. The defaults follow OWASP's argon2id recommendation
/// (19 MiB, 2 passes, 1 lane); tests lower the cost so a login takes microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Argon2id memory cost in KiB for new password hashes (existing hashes keep their own).
    pub password_memory_kib: u32,
    /// Argon2id passes for new password hashes.
    pub password_iterations: u32,
    /// How long a web session lasts after login.
    pub session_ttl: Duration,
    /// Failed logins one address may make for one account name before each further
    /// attempt waits (`login_backoff`, doubling with every failure, at most `login_window`).
    pub login_attempts: u32,
    /// How long failures are remembered, and the longest wait between attempts.
    pub login_window: Duration,
    /// The first wait once `login_attempts` failures are used up.
    pub login_backoff: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            password_memory_kib: 19 * 1024,
            password_iterations: 2,
            session_ttl: Duration::from_secs(12 * 3600),
            login_attempts: 5,
            login_window: Duration::from_secs(15 * 60),
            login_backoff: Duration::from_secs(1),
        }
    }
}
