//! The parsed form of a condition. Private to the module: callers only see [`super::Condition`],
//! so the grammar can grow without breaking them.

use super::Placeholder;

/// One side of the comparison, with the text it was parsed from (trimmed) for descriptions.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Side {
    /// The side as written, without surrounding spaces, e.g. `len([BODY].items)`.
    pub source: String,
    /// Byte offset of `source` in the condition text, for errors found after parsing a side.
    pub at: usize,
    pub operand: Operand,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Operand {
    /// A placeholder, possibly with a body path: `[BODY].data[0]`.
    Read(Reading),
    /// `len(...)`: the length of what the reading yields.
    Len(Reading),
    /// `has(...)`: whether the reading yields anything.
    Has(Reading),
    Literal(Literal),
    /// `pat(...)`: a glob; only on the right of `==` / `!=`.
    Pattern(Literal),
    /// `any(...)`: alternatives; only on the right of `==` / `!=`.
    Any(Vec<Literal>),
}

impl Operand {
    /// The placeholder this operand reads, if any (literals, `pat()` and `any()` read none).
    pub fn placeholder(&self) -> Option<Placeholder> {
        match self {
            Operand::Read(reading) | Operand::Len(reading) | Operand::Has(reading) => {
                Some(reading.placeholder)
            }
            Operand::Literal(_) | Operand::Pattern(_) | Operand::Any(_) => None,
        }
    }

    /// `Some("pat()")` or `Some("any()")` for the operands that match rather than hold a value.
    pub fn matcher_name(&self) -> Option<&'static str> {
        match self {
            Operand::Pattern(_) => Some("pat()"),
            Operand::Any(_) => Some("any()"),
            Operand::Read(_) | Operand::Len(_) | Operand::Has(_) | Operand::Literal(_) => None,
        }
    }
}

/// A placeholder and, for `[BODY]` only, a JSON path into the body (empty: the whole value).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reading {
    pub placeholder: Placeholder,
    pub path: Vec<Segment>,
}

/// One step of a body path.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Segment {
    /// `.key`: a member of a JSON object.
    Key(String),
    /// `[3]`: an element of a JSON array.
    Index(usize),
}

/// A literal value, unquoted, and where it starts (so type checks can point at it).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Literal {
    /// The value compared against: the text without quotes, or milliseconds for a duration.
    pub value: String,
    /// Byte offset in the condition text.
    pub at: usize,
}

/// The comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "==",
            Operator::Ne => "!=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
        }
    }

    /// `==` and `!=` work on any text; the others need numbers.
    pub fn is_equality(self) -> bool {
        matches!(self, Operator::Eq | Operator::Ne)
    }
}
