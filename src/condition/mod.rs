//! The condition language (Gatus syntax): parsed once at config load, evaluated per check.
//!
//! Owns: the grammar, the AST, evaluation against what a check saw. Pure: no I/O, no clock.
//! May use: std, serde_json (body paths), humantime (duration literals), thiserror.
//!
//! # Why parse once
//! A typo in a condition should stop `beacon` at startup with `file:line:column`, not turn a
//! probe red at 3 a.m. So [`Condition::parse`] rejects everything it can prove meaningless
//! (unknown placeholders, `[STATUS] == ok`, `pat()` on the left, ...) and reports the byte
//! offset inside the condition text; the config loader maps it to a file position.
//! [`Condition::evaluate`] then only reads values and can never fail or panic: a value the
//! check did not produce (no body, a path that is not there) makes the condition fail.
//!
//! # Syntax
//! A condition is `LEFT OP RIGHT` with exactly one operator `==`, `!=`, `<`, `<=`, `>`, `>=`
//! (operators inside `[...]`, `(...)` or `"..."` do not count).
//!
//! Each side is one of:
//! - a placeholder: `[STATUS]`, `[RESPONSE_TIME]` (ms), `[BODY]`, `[CONNECTED]`,
//!   `[CERTIFICATE_EXPIRATION]` (ms until expiry), `[IP]`, `[DNS_RCODE]`. Names are
//!   case-sensitive. `[BODY]` may be followed by a JSON path of keys and array indices:
//!   `[BODY].data.items[0].state`, `[BODY][0].id`;
//! - `len(PLACEHOLDER)`: element count of a JSON array or object, character count of a string
//!   (or of the value's text, e.g. the whole body);
//! - `has(PLACEHOLDER)`: `true` iff the value exists, e.g. `has([BODY].errors) == false`;
//! - a literal: a number (`200`, `-1.5`), a bare word (`ok`, `UP`, `true`) or a double-quoted
//!   string (`"all good"`, with `\"` and `\\` escapes). Bare words cannot contain spaces;
//! - on the right of `==`/`!=` only: `pat(GLOB)` (`*` any run, `?` any one character, the
//!   whole value must match) or `any(A, B, ...)` (equal to at least one of them).
//!
//! Next to a placeholder read as milliseconds (`[RESPONSE_TIME]`, `[CERTIFICATE_EXPIRATION]`)
//! a literal may be a duration such as `500ms`, `48h` or `7d`; plain numbers are milliseconds.
//!
//! # Comparison
//! If both values are numbers they compare numerically (`200.0 == 200`). Otherwise `==` and
//! `!=` compare text (JSON strings without their quotes, other JSON values as written) and the
//! ordering operators fail, saying so in the description. A missing value fails the condition
//! whatever the operator, `!=` included: "the field is not there" is never a pass.

mod ast;
mod check;
mod eval;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;

use self::ast::{Operator, Side};

/// One parsed condition: the AST plus the text it came from (for messages and the UI).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    text: String,
    left: Side,
    op: Operator,
    right: Side,
}

impl Condition {
    /// Parses `text`, or says where (byte offset) and why it is not a valid condition.
    pub fn parse(text: &str) -> Result<Condition, ParseError> {
        let (left, op, right) = parse::parse(text)?;
        Ok(Condition {
            text: text.to_owned(),
            left,
            op,
            right,
        })
    }

    /// The condition exactly as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Placeholders the condition reads, in order of appearance and without duplicates,
    /// so the config can reject e.g. `[STATUS]` on a tcp probe.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let mut found = Vec::new();
        for side in [&self.left, &self.right] {
            if let Some(placeholder) = side.operand.placeholder() {
                if !found.contains(&placeholder) {
                    found.push(placeholder);
                }
            }
        }
        found
    }

    /// Evaluates the condition against what one check saw. Never fails, never panics.
    pub fn evaluate(&self, ctx: &Context<'_>) -> Evaluation {
        eval::evaluate(&self.left, self.op, &self.right, ctx)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A condition travels as its text (the server hands probes to prober nodes) and is parsed
/// again on arrival.
impl serde::Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Condition, D::Error> {
        let text = String::deserialize(deserializer)?;
        Condition::parse(&text)
            .map_err(|e| serde::de::Error::custom(format!("condition \"{text}\": {e}")))
    }
}

/// Why a condition text is not valid, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// Byte offset in the condition text where the problem starts.
    pub offset: usize,
    /// Lowercase, no trailing period, meant to follow `file:line:column: `.
    pub message: String,
}

impl ParseError {
    fn new(offset: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            offset,
            message: message.into(),
        }
    }
}

/// A value a check can produce, as named inside square brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    Status,
    ResponseTime,
    Body,
    Connected,
    CertificateExpiration,
    Ip,
    DnsRcode,
}

impl Placeholder {
    /// Every placeholder, in documentation order.
    pub const ALL: [Placeholder; 7] = [
        Placeholder::Status,
        Placeholder::ResponseTime,
        Placeholder::Body,
        Placeholder::Connected,
        Placeholder::CertificateExpiration,
        Placeholder::Ip,
        Placeholder::DnsRcode,
    ];

    /// The placeholder as written in a condition, brackets included: `"[STATUS]"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Placeholder::Status => "[STATUS]",
            Placeholder::ResponseTime => "[RESPONSE_TIME]",
            Placeholder::Body => "[BODY]",
            Placeholder::Connected => "[CONNECTED]",
            Placeholder::CertificateExpiration => "[CERTIFICATE_EXPIRATION]",
            Placeholder::Ip => "[IP]",
            Placeholder::DnsRcode => "[DNS_RCODE]",
        }
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one check saw. `None` means "this check does not produce it" (e.g. no body on a tcp
/// probe, no certificate over plain http); conditions reading it then fail.
#[derive(Debug, Default, Clone)]
pub struct Context<'a> {
    /// HTTP status code.
    pub status: Option<u16>,
    /// Time to the response, in milliseconds.
    pub response_time_ms: Option<u64>,
    /// Response body as text; parsed as JSON only if a condition uses a body path.
    pub body: Option<&'a str>,
    /// Whether the connection was established.
    pub connected: Option<bool>,
    /// Milliseconds until the TLS certificate expires; negative once expired.
    pub certificate_expiration_ms: Option<i64>,
    /// The resolved IP address, as text.
    pub ip: Option<&'a str>,
    /// The DNS response code, e.g. `NOERROR`, `NXDOMAIN`.
    pub dns_rcode: Option<&'a str>,
}

/// The outcome of one condition on one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub passed: bool,
    /// The condition with resolved values, e.g. `"[STATUS] (503) == 200"`, shown to operators
    /// so they see why a probe is down without reproducing the request.
    pub description: String,
}
