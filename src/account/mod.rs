//! Operator accounts: password hashing (argon2id), session and CSRF tokens, and the login
//! throttle. No I/O beyond the system's random source; the clock is a parameter.
//!
//! Owns: how a password is checked and how guessing is slowed down. `store` keeps the
//! records; `web` and `cli` call in here.

/// The login throttle's rules; the store keeps its counts.
pub mod throttle;
mod token_scope;

pub use throttle::{LoginHistory, Streak};
pub use token_scope::{remote_ids, token_scope, ScopeError, TokenScope};

use crate::domain::AuthSettings;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no secure random source")]
    Random,
    #[error("password hashing: {0}")]
    Hash(String),
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
}

/// Short enough to type, long enough that the throttle makes guessing hopeless.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Whether `name` can be an account name: 1 to 64 bytes, not blank, no control characters
/// (names appear in the audit log and on admin pages).
pub fn is_valid_name(name: &str) -> bool {
    !name.trim().is_empty() && name.len() <= 64 && !name.chars().any(char::is_control)
}

/// The argon2id hash (PHC string, salt and cost inside) of `password` at the configured cost.
pub fn hash_password(password: &str, settings: &AuthSettings) -> Result<String, Error> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::TooShort);
    }
    let params = Params::new(
        settings.password_memory_kib,
        settings.password_iterations,
        1,
        None,
    )
    .map_err(|e| Error::Hash(e.to_string()))?;
    let salt =
        SaltString::encode_b64(&random_bytes::<16>()?).map_err(|e| Error::Hash(e.to_string()))?;
    counted_hash();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Hash(e.to_string()))
}

/// Whether `password` matches `stored`. A malformed stored hash matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        counted_hash();
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Spends the time a real check would, so an unknown account name answers as slowly as a
/// wrong password (no account enumeration by timing): one argon2id run at the configured
/// cost, exactly what checking a wrong password against a stored hash costs.
pub fn verify_nobody(password: &str, settings: &AuthSettings) {
    let _ = verify_password(password, &nobody_hash(settings));
}

/// A PHC string at the configured cost that no password matches (its hash is all zeros, a
/// value argon2 does not produce in practice). Building it costs nothing: verifying against
/// it is the one hash.
fn nobody_hash(settings: &AuthSettings) -> String {
    format!(
        "$argon2id$v=19$m={},t={},p=1$bm8gc3VjaCBhY2NvdW50$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        settings.password_memory_kib, settings.password_iterations
    )
}

#[cfg(test)]
thread_local! {
    /// Argon2 runs on this thread, for the tests that count what a login costs.
    static HASHES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Marks one argon2 run (counted in tests only).
fn counted_hash() {
    #[cfg(test)]
    HASHES.with(|n| n.set(n.get() + 1));
}

/// A new random secret for a cookie or a form: 32 hex characters (128 bits).
pub fn new_secret() -> Result<String, Error> {
    Ok(random_bytes::<16>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| Error::Random)?;
    Ok(bytes)
}

/// Equal-time comparison for secrets (CSRF tokens): no early exit on the first difference.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> AuthSettings {
        AuthSettings {
            password_memory_kib: 64,
            password_iterations: 1,
            ..AuthSettings::default()
        }
    }

    #[test]
    fn a_hash_is_argon2id_salted_and_verifies_only_its_password() {
        let a = hash_password("correct horse battery", &cheap()).unwrap();
        let b = hash_password("correct horse battery", &cheap()).unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("correct horse battery", &a));
        assert!(!verify_password("correct horse batterY", &a));
        assert!(!verify_password("", &a));
    }

    /// How many argon2 runs `f` does on this thread.
    fn hashes_during(f: impl FnOnce()) -> u32 {
        let before = HASHES.with(std::cell::Cell::get);
        f();
        HASHES.with(std::cell::Cell::get) - before
    }

    #[test]
    fn an_unknown_name_costs_one_hash_like_a_wrong_password() {
        let settings = cheap();
        let stored = hash_password("correct horse battery", &settings).unwrap();
        let wrong = hashes_during(|| assert!(!verify_password("wrong password!", &stored)));
        let nobody = hashes_during(|| verify_nobody("wrong password!", &settings));
        assert_eq!((wrong, nobody), (1, 1));
        // And that one hash is at the configured cost, as the stored one is.
        let phc = nobody_hash(&settings);
        let parsed = PasswordHash::new(&phc).expect("a PHC string");
        let params = Params::try_from(&parsed).expect("argon2 parameters");
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (64, 1, 1)
        );
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(!verify_password("", &phc) && !verify_password("wrong password!", &phc));
    }

    #[test]
    fn short_passwords_and_malformed_hashes_are_refused() {
        assert!(matches!(
            hash_password("short", &cheap()),
            Err(Error::TooShort)
        ));
        assert!(!verify_password("anything at all", "not a phc string"));
        assert!(!verify_password("anything at all", ""));
    }

    #[test]
    fn account_names_are_short_printable_and_not_blank() {
        for (name, valid) in [
            ("ada", true),
            ("Ada Lovelace", true),
            (&"x".repeat(64), true),
            (&"x".repeat(65), false),
            ("", false),
            ("   ", false),
            ("ada\n", false),
            ("a\u{7}b", false),
        ] {
            assert_eq!(is_valid_name(name), valid, "{name:?}");
        }
    }

    #[test]
    fn secrets_are_random_hex_and_compare_exactly() {
        let a = new_secret().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, new_secret().unwrap());
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &a[..31]));
        assert!(!same_secret("abc", "abd"));
    }
}
