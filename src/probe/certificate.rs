//! Reading a certificate's expiry.

use crate::domain::Timestamp;

/// Milliseconds from `now` until the DER certificate's `notAfter` (negative once expired);
/// `None` if it does not parse.
pub(super) fn expires_in_ms(der: &[u8], now: Timestamp) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = cert.validity().not_after.timestamp();
    Some(not_after.saturating_mul(1000).saturating_sub(now.millis()))
}
