//! Evaluation of a parsed condition against one check's [`Context`].
//!
//! Nothing here can fail: the parser already rejected what cannot be evaluated, and a value
//! the check did not produce is "missing", which fails the condition.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::cmp::Ordering;

use serde_json::Value;

use super::ast::{Literal, Operand, Operator, Reading, Segment, Side};
use super::{Context, Evaluation, Placeholder};

/// Resolved values longer than this (in characters) are cut in descriptions: a whole body
/// would drown the status page.
const MAX_SHOWN_CHARS: usize = 60;

pub(super) fn evaluate(left: &Side, op: Operator, right: &Side, ctx: &Context<'_>) -> Evaluation {
    let resolver = Resolver::new(ctx);
    let left_term = resolver.term(&left.operand);
    let right_term = resolver.term(&right.operand);
    let verdict = judge(&left_term, op, &right_term);
    let mut description = format!(
        "{} {} {}",
        describe(left, &left_term),
        op.as_str(),
        describe(right, &right_term)
    );
    if verdict == Verdict::NeedsNumbers {
        description.push_str(&format!(" ({} needs two numbers)", op.as_str()));
    }
    Evaluation {
        passed: verdict == Verdict::Pass,
        description,
    }
}

/// A number as the comparison sees it: integers stay exact, the rest are floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Number {
    Int(i128),
    Float(f64),
}

/// Reads `text` as a number if it is written like one: `-12`, `3.5`, `1e3`. Stricter than
/// `f64::from_str`, which would also take `inf` and `NaN` (plausible words in a body).
pub(super) fn number(text: &str) -> Option<Number> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    if !(digits(whole) && fraction.is_none_or(digits) && exponent_ok) {
        return None;
    }
    match text.parse() {
        Ok(int) => Some(Number::Int(int)),
        Err(_) => text.parse().ok().map(Number::Float),
    }
}

impl Number {
    fn compare(self, other: Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
            _ => self.as_f64().partial_cmp(&other.as_f64()),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            // Precision loss only beyond 2^53, where the other side is a float anyway.
            Number::Int(int) => int as f64,
            Number::Float(float) => float,
        }
    }
}

/// The outcome before it becomes a description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail,
    /// An ordering operator met something that is not a number.
    NeedsNumbers,
}

impl From<bool> for Verdict {
    fn from(passed: bool) -> Verdict {
        if passed {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
}

/// One side, resolved.
#[derive(Debug)]
enum Term<'s> {
    /// The check did not produce the value (or the body path is not there).
    Missing,
    Value(Cow<'s, str>),
    Pattern(&'s str),
    Any(&'s [Literal]),
}

/// What a reading found: plain text, or a node of the body's JSON (kept as JSON for `len()`).
enum Found<'s> {
    Text(Cow<'s, str>),
    Json(&'s Value),
}

/// Resolves operands against a context, parsing the body as JSON at most once and only if a
/// body path asks for it (most checks never need it, and bodies can be large).
struct Resolver<'c, 'a> {
    ctx: &'c Context<'a>,
    json: OnceCell<Option<Value>>,
}

impl<'c, 'a> Resolver<'c, 'a> {
    fn new(ctx: &'c Context<'a>) -> Self {
        Resolver {
            ctx,
            json: OnceCell::new(),
        }
    }

    fn term<'s>(&'s self, operand: &'s Operand) -> Term<'s> {
        match operand {
            Operand::Read(reading) => match self.find(reading) {
                Some(found) => Term::Value(found.into_text()),
                None => Term::Missing,
            },
            Operand::Len(reading) => match self.find(reading) {
                Some(found) => Term::Value(found.len().to_string().into()),
                None => Term::Missing,
            },
            Operand::Has(reading) => {
                let exists = self.find(reading).is_some();
                Term::Value(Cow::Borrowed(if exists { "true" } else { "false" }))
            }
            Operand::Literal(literal) => Term::Value(Cow::Borrowed(&literal.value)),
            Operand::Pattern(pattern) => Term::Pattern(&pattern.value),
            Operand::Any(items) => Term::Any(items),
        }
    }

    fn find(&self, reading: &Reading) -> Option<Found<'_>> {
        let ctx = self.ctx;
        let text = |value: String| Found::Text(Cow::Owned(value));
        match reading.placeholder {
            Placeholder::Body if !reading.path.is_empty() => {
                self.json_at(&reading.path).map(Found::Json)
            }
            Placeholder::Body => ctx.body.map(|body| Found::Text(Cow::Borrowed(body))),
            Placeholder::Status => ctx.status.map(|status| text(status.to_string())),
            Placeholder::ResponseTime => ctx.response_time_ms.map(|ms| text(ms.to_string())),
            Placeholder::Connected => ctx.connected.map(|connected| text(connected.to_string())),
            Placeholder::CertificateExpiration => {
                ctx.certificate_expiration_ms.map(|ms| text(ms.to_string()))
            }
            Placeholder::Ip => ctx.ip.map(|ip| Found::Text(Cow::Borrowed(ip))),
            Placeholder::DnsRcode => ctx.dns_rcode.map(|rcode| Found::Text(Cow::Borrowed(rcode))),
        }
    }

    /// The JSON node at `path`, or `None` if there is no body, it is not JSON, or the path
    /// does not lead anywhere (wrong key, index out of range, key on an array...).
    fn json_at(&self, path: &[Segment]) -> Option<&Value> {
        let parsed = self.json.get_or_init(|| {
            self.ctx
                .body
                .and_then(|body| serde_json::from_str(body).ok())
        });
        path.iter()
            .try_fold(parsed.as_ref()?, |node, segment| match segment {
                Segment::Key(key) => node.as_object()?.get(key),
                Segment::Index(index) => node.as_array()?.get(*index),
            })
    }
}

impl<'s> Found<'s> {
    /// JSON strings lose their quotes; other JSON values are shown as JSON.
    fn into_text(self) -> Cow<'s, str> {
        match self {
            Found::Text(text) => text,
            Found::Json(Value::String(string)) => Cow::Borrowed(string),
            Found::Json(other) => Cow::Owned(other.to_string()),
        }
    }

    /// Elements of an array or object, characters of a string or of the text, 0 for null.
    fn len(self) -> usize {
        match self {
            Found::Json(Value::Array(items)) => items.len(),
            Found::Json(Value::Object(members)) => members.len(),
            Found::Json(Value::Null) => 0,
            other => other.into_text().chars().count(),
        }
    }
}

fn judge(left: &Term<'_>, op: Operator, right: &Term<'_>) -> Verdict {
    match (left, right) {
        (Term::Missing, _) | (_, Term::Missing) => Verdict::Fail,
        (Term::Value(a), Term::Value(b)) => compare(a, op, b),
        (Term::Value(value), matcher) | (matcher, Term::Value(value)) => {
            match_verdict(value, op, matcher)
        }
        _ => Verdict::Fail,
    }
}

fn compare(left: &str, op: Operator, right: &str) -> Verdict {
    if let (Some(a), Some(b)) = (number(left), number(right)) {
        return a
            .compare(b)
            .is_some_and(|ordering| holds(op, ordering))
            .into();
    }
    match op {
        Operator::Eq => (left == right).into(),
        Operator::Ne => (left != right).into(),
        Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge => Verdict::NeedsNumbers,
    }
}

fn holds(op: Operator, ordering: Ordering) -> bool {
    match op {
        Operator::Eq => ordering == Ordering::Equal,
        Operator::Ne => ordering != Ordering::Equal,
        Operator::Lt => ordering == Ordering::Less,
        Operator::Le => ordering != Ordering::Greater,
        Operator::Gt => ordering == Ordering::Greater,
        Operator::Ge => ordering != Ordering::Less,
    }
}

/// `value == pat(...)` / `value == any(...)` and their `!=` negations.
fn match_verdict(value: &str, op: Operator, matcher: &Term<'_>) -> Verdict {
    let matched = match matcher {
        Term::Pattern(pattern) => glob_matches(pattern, value),
        Term::Any(items) => items
            .iter()
            .any(|item| compare(value, Operator::Eq, &item.value) == Verdict::Pass),
        Term::Missing | Term::Value(_) => return Verdict::Fail,
    };
    match op {
        Operator::Eq => matched.into(),
        Operator::Ne => (!matched).into(),
        Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge => Verdict::Fail,
    }
}

/// Whole-text glob: `*` matches any run of characters (even empty), `?` exactly one.
///
/// Greedy with a single backtrack point, so it stays O(len(text) * len(pattern)) at worst
/// instead of exponential on patterns like `*a*a*a*b`.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, from)) => {
                    p = star + 1;
                    t = from + 1;
                    backtrack = Some((star, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// `source (resolved)` for sides that read the check, `source` alone for literals.
fn describe(side: &Side, term: &Term<'_>) -> String {
    if side.operand.placeholder().is_none() {
        return side.source.clone();
    }
    let shown = match term {
        Term::Value(value) => shorten(value),
        Term::Missing | Term::Pattern(_) | Term::Any(_) => "missing".to_owned(),
    };
    format!("{} ({shown})", side.source)
}

/// At most [`MAX_SHOWN_CHARS`] characters on one line: control characters become spaces.
fn shorten(value: &str) -> String {
    let clean = |c: char| if c.is_control() { ' ' } else { c };
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(MAX_SHOWN_CHARS).map(clean).collect();
    if chars.next().is_none() {
        return head;
    }
    let mut cut: String = head.chars().take(MAX_SHOWN_CHARS - 3).collect();
    cut.push_str("...");
    cut
}
