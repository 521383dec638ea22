//! Checks that need both sides of a parsed condition, run once at parse time.
//!
//! They turn conditions that could never be meaningful (`[STATUS] == ok`,
//! `[RESPONSE_TIME] < fast`, `pat()` on the left) into load-time errors, and convert duration
//! literals to milliseconds so evaluation only ever compares numbers and text.

use super::ast::{Literal, Operand, Operator, Side};
use super::eval::number;
use super::{ParseError, Placeholder};

type Result<T> = std::result::Result<T, ParseError>;

/// What a literal facing a side must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    /// A number of milliseconds or a duration, stored as milliseconds.
    Millis,
    Bool,
}

/// Checks the sides against each other; `op_at` is the operator's offset, for errors about it.
pub(super) fn check_sides(
    left: &mut Side,
    op: Operator,
    op_at: usize,
    right: &mut Side,
) -> Result<()> {
    if let Some(name) = left.operand.matcher_name() {
        let message = format!("{name} is only allowed on the right side");
        return Err(ParseError::new(left.at, message));
    }
    if let Some(name) = right.operand.matcher_name().filter(|_| !op.is_equality()) {
        let message = format!("{name} only works with == or !=");
        return Err(ParseError::new(op_at, message));
    }
    if left.operand.placeholder().is_none() && right.operand.placeholder().is_none() {
        let message = "condition reads no placeholder such as [STATUS] or [BODY]";
        return Err(ParseError::new(left.at, message));
    }
    let (left_kind, right_kind) = (kind_of(&left.operand), kind_of(&right.operand));
    if !op.is_equality() {
        for (side, kind) in [(&*left, left_kind), (&*right, right_kind)] {
            if kind == Some(Kind::Bool) {
                let message = format!("{} is true or false, compare it with == or !=", side.source);
                return Err(ParseError::new(op_at, message));
            }
        }
    }
    if let Some(kind) = left_kind {
        coerce(&mut right.operand, kind, &left.source)?;
    }
    if let Some(kind) = right_kind {
        coerce(&mut left.operand, kind, &right.source)?;
    }
    Ok(())
}

fn kind_of(operand: &Operand) -> Option<Kind> {
    match operand {
        Operand::Read(reading) if reading.path.is_empty() => match reading.placeholder {
            Placeholder::Status => Some(Kind::Number),
            Placeholder::ResponseTime | Placeholder::CertificateExpiration => Some(Kind::Millis),
            Placeholder::Connected => Some(Kind::Bool),
            Placeholder::Body | Placeholder::Ip | Placeholder::DnsRcode => None,
        },
        Operand::Len(_) => Some(Kind::Number),
        Operand::Has(_) => Some(Kind::Bool),
        _ => None,
    }
}

/// Checks (and for durations converts) the literals of `operand` against what `other` reads.
fn coerce(operand: &mut Operand, kind: Kind, other: &str) -> Result<()> {
    match operand {
        Operand::Literal(literal) => coerce_literal(literal, kind, other),
        Operand::Any(items) => items
            .iter_mut()
            .try_for_each(|literal| coerce_literal(literal, kind, other)),
        _ => Ok(()),
    }
}

fn coerce_literal(literal: &mut Literal, kind: Kind, other: &str) -> Result<()> {
    let value = literal.value.as_str();
    let expected = match kind {
        Kind::Number | Kind::Millis if number(value).is_some() => return Ok(()),
        Kind::Bool if matches!(value, "true" | "false") => return Ok(()),
        Kind::Millis => match humantime::parse_duration(value) {
            Ok(duration) => {
                literal.value = duration.as_millis().to_string();
                return Ok(());
            }
            Err(_) => "milliseconds or a duration like 48h",
        },
        Kind::Number => "a number",
        Kind::Bool => "true or false",
    };
    let message = format!("expected {expected} to compare with {other}, found '{value}'");
    Err(ParseError::new(literal.at, message))
}
