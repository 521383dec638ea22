//! Operator accounts: password hashing (argon2id), session and CSRF tokens, and the login
//! throttle. No I/O beyond the system's random source; the clock is a parameter.
//!
//! Owns: how a password is checked and how guessing is slowed down. `store` keeps the
//! records; `web` and `cli` call in here.

mod throttle;

pub use throttle::LoginThrottle;

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
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Hash(e.to_string()))
}

/// Whether `password` matches `stored`. A malformed stored hash matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Spends the time a real check would, so an unknown account name answers as slowly as a
/// wrong password (no account enumeration by timing).
pub fn verify_nobody(password: &str, settings: &AuthSettings) {
    if let Ok(hash) = hash_password(&format!("{password}-padding-to-minimum"), settings) {
        let _ = verify_password("", &hash);
    }
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
