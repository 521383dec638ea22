//! Text to AST, with byte offsets in every error.
//!
//! Two passes, because the operator decides where the sides are: first scan the whole text for
//! quotes, brackets and the one operator outside them; then parse each side on its own. The
//! checks needing both sides (e.g. `[STATUS]` against a number) live in `check.rs`. Every special
//! character is ASCII, so scanning bytes is safe on any UTF-8 and every offset we slice at is a
//! character boundary.

use super::ast::{Literal, Operand, Operator, Reading, Segment, Side};
use super::check::check_sides;
use super::{ParseError, Placeholder};

type Result<T> = std::result::Result<T, ParseError>;

/// Parses a whole condition into its left side, operator and right side.
pub(super) fn parse(text: &str) -> Result<(Side, Operator, Side)> {
    if text.trim().is_empty() {
        return Err(ParseError::new(0, "empty condition"));
    }
    let (op, op_at) = find_operator(text)?;
    let op_end = op_at + op.as_str().len();
    let missing =
        |at, place| ParseError::new(at, format!("missing value {place} '{}'", op.as_str()));
    let mut left = parse_side(&text[..op_at], 0)?.ok_or_else(|| missing(op_at, "before"))?;
    let mut right = parse_side(&text[op_end..], op_end)?.ok_or_else(|| missing(op_end, "after"))?;
    check_sides(&mut left, op, op_at, &mut right)?;
    Ok((left, op, right))
}

/// Finds the single operator outside quotes and brackets, and checks they are balanced.
fn find_operator(text: &str) -> Result<(Operator, usize)> {
    let bytes = text.as_bytes();
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut found: Vec<(Operator, usize)> = Vec::new();
    let mut single_equals = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = skip_quoted(bytes, i)?;
                continue;
            }
            b'[' | b'(' => open.push((bytes[i], i)),
            b']' | b')' => close_bracket(&mut open, bytes[i], i)?,
            _ if open.is_empty() => {
                if let Some(op) = operator_at(bytes, i) {
                    check_operator_neighbours(bytes, op, i)?;
                    found.push((op, i));
                    i += op.as_str().len();
                    continue;
                }
                if bytes[i] == b'=' {
                    single_equals.get_or_insert(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(&(opener, at)) = open.last() {
        return Err(ParseError::new(
            at,
            format!("unclosed '{}'", char::from(opener)),
        ));
    }
    match (found.as_slice(), single_equals) {
        ([one], _) => Ok(*one),
        ([], Some(at)) => Err(ParseError::new(at, "'=' is not an operator, use '=='")),
        ([], None) => Err(ParseError::new(
            0,
            "missing comparison operator (==, !=, <, <=, >, >=)",
        )),
        ([_, (op, at), ..], _) => Err(ParseError::new(
            *at,
            format!("more than one comparison operator ('{}')", op.as_str()),
        )),
    }
}

/// The operator starting at `i`, if any; two-character operators win over `<` and `>`.
fn operator_at(bytes: &[u8], i: usize) -> Option<Operator> {
    let next = bytes.get(i + 1).copied();
    match (bytes.get(i).copied()?, next) {
        (b'=', Some(b'=')) => Some(Operator::Eq),
        (b'!', Some(b'=')) => Some(Operator::Ne),
        (b'<', Some(b'=')) => Some(Operator::Le),
        (b'<', _) => Some(Operator::Lt),
        (b'>', Some(b'=')) => Some(Operator::Ge),
        (b'>', _) => Some(Operator::Gt),
        _ => None,
    }
}

/// Catches `===`, `<==`, `=>` and `=<`: written by habit from other languages, they would
/// otherwise surface as a confusing error about the value next to the operator.
fn check_operator_neighbours(bytes: &[u8], op: Operator, at: usize) -> Result<()> {
    let end = at + op.as_str().len();
    if bytes.get(end) == Some(&b'=') {
        let message = format!("unexpected '=' after '{}'", op.as_str());
        return Err(ParseError::new(end, message));
    }
    let ordering = matches!(op, Operator::Lt | Operator::Gt);
    if ordering && at > 0 && bytes.get(at - 1) == Some(&b'=') {
        let message = format!("'={0}' is not an operator, use '{0}='", op.as_str());
        return Err(ParseError::new(at - 1, message));
    }
    Ok(())
}

/// Given the opening quote at `start`, returns the index just past the closing one.
fn skip_quoted(bytes: &[u8], start: usize) -> Result<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(ParseError::new(start, "unclosed quote"))
}

/// Pops the matching opener, or points at whichever bracket is wrong.
fn close_bracket(open: &mut Vec<(u8, usize)>, closer: u8, at: usize) -> Result<()> {
    let expected = if closer == b']' { b'[' } else { b'(' };
    match open.pop() {
        Some((opener, _)) if opener == expected => Ok(()),
        Some((opener, opened_at)) => Err(ParseError::new(
            opened_at,
            format!("unclosed '{}'", char::from(opener)),
        )),
        None => Err(ParseError::new(
            at,
            format!("unmatched '{}'", char::from(closer)),
        )),
    }
}

/// Parses one side; `Ok(None)` if it is blank (the caller knows which side it was).
fn parse_side(raw: &str, start: usize) -> Result<Option<Side>> {
    let source = raw.trim();
    if source.is_empty() {
        return Ok(None);
    }
    let at = start + leading_spaces(raw);
    let operand = parse_operand(source, at)?;
    Ok(Some(Side {
        source: source.to_owned(),
        at,
        operand,
    }))
}

fn parse_operand(s: &str, at: usize) -> Result<Operand> {
    if s.starts_with('[') {
        return parse_reading(s, at).map(Operand::Read);
    }
    if !s.starts_with('"') {
        if let Some((name, open)) = function_call(s) {
            return parse_call(s, at, name, open);
        }
    }
    parse_literal(s, at).map(Operand::Literal)
}

/// `Some((name, index of '('))` if `s` looks like `name(...)`.
fn function_call(s: &str) -> Option<(&str, usize)> {
    let open = s.find('(')?;
    let name = s[..open].trim_end();
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let is_identifier = starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_identifier.then_some((name, open))
}

fn parse_call(s: &str, at: usize, name: &str, open: usize) -> Result<Operand> {
    let close =
        matching_paren(s, open).ok_or_else(|| ParseError::new(at + open, "unclosed '('"))?;
    if close + 1 != s.len() {
        return Err(ParseError::new(at + close + 1, "unexpected text after ')'"));
    }
    let args = &s[open + 1..close];
    let args_at = at + open + 1;
    match name {
        "len" => parse_reading_arg(args, args_at, at, "len").map(Operand::Len),
        "has" => parse_reading_arg(args, args_at, at, "has").map(Operand::Has),
        "pat" => parse_pattern_arg(args, args_at, at).map(Operand::Pattern),
        "any" => parse_any_args(args, args_at, at).map(Operand::Any),
        _ => Err(ParseError::new(
            at,
            format!("unknown function '{name}' (expected len, has, pat or any)"),
        )),
    }
}

/// Index of the `)` closing the `(` at `open`, skipping quoted text.
fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = skip_quoted(bytes, i).ok()?;
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The argument of `len()` / `has()`: a placeholder, possibly with a body path.
fn parse_reading_arg(args: &str, args_at: usize, name_at: usize, name: &str) -> Result<Reading> {
    let arg = args.trim();
    if arg.is_empty() {
        let message = format!("{name}() needs a placeholder, e.g. {name}([BODY].items)");
        return Err(ParseError::new(name_at, message));
    }
    let at = args_at + leading_spaces(args);
    if !arg.starts_with('[') {
        let message = format!("{name}() takes a placeholder such as [BODY].items");
        return Err(ParseError::new(at, message));
    }
    parse_reading(arg, at)
}

fn parse_pattern_arg(args: &str, args_at: usize, name_at: usize) -> Result<Literal> {
    let arg = args.trim();
    if arg.is_empty() {
        return Err(ParseError::new(
            name_at,
            "pat() needs a pattern, e.g. pat(2*)",
        ));
    }
    parse_literal(arg, args_at + leading_spaces(args))
}

fn parse_any_args(args: &str, args_at: usize, name_at: usize) -> Result<Vec<Literal>> {
    if args.trim().is_empty() {
        return Err(ParseError::new(name_at, "any() needs at least one value"));
    }
    split_on_commas(args)
        .into_iter()
        .map(|(start, end)| {
            let part = &args[start..end];
            let value = part.trim();
            if value.is_empty() {
                return Err(ParseError::new(args_at + start, "empty value in any()"));
            }
            parse_literal(value, args_at + start + leading_spaces(part))
        })
        .collect()
}

/// Byte ranges of the comma-separated parts of `s`, ignoring commas in quotes or brackets.
fn split_on_commas(s: &str) -> Vec<(usize, usize)> {
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let (mut start, mut depth, mut i) = (0, 0usize, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = skip_quoted(bytes, i).unwrap_or(bytes.len());
                continue;
            }
            b'[' | b'(' => depth += 1,
            b']' | b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                parts.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push((start, bytes.len()));
    parts
}

/// `[NAME]` optionally followed, for `[BODY]` only, by a path such as `.data.items[0]`.
fn parse_reading(s: &str, at: usize) -> Result<Reading> {
    let close = s
        .find(']')
        .ok_or_else(|| ParseError::new(at, "unclosed '['"))?;
    let name = &s[..=close];
    let placeholder = Placeholder::ALL
        .into_iter()
        .find(|p| p.as_str() == name)
        .ok_or_else(|| unknown_placeholder(name, at))?;
    let rest = &s[close + 1..];
    if rest.is_empty() {
        return Ok(Reading {
            placeholder,
            path: Vec::new(),
        });
    }
    if placeholder != Placeholder::Body {
        let message = format!("only [BODY] can be followed by a path, not {placeholder}");
        return Err(ParseError::new(at + close + 1, message));
    }
    let path = parse_path(rest, at + close + 1)?;
    Ok(Reading { placeholder, path })
}

/// Names are case-sensitive (as in Gatus), but a near miss deserves a hint.
fn unknown_placeholder(name: &str, at: usize) -> ParseError {
    let hint = Placeholder::ALL
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(name));
    let message = match hint {
        Some(p) => format!("unknown placeholder {name}, did you mean {p}"),
        None => format!("unknown placeholder {name}"),
    };
    ParseError::new(at, message)
}

/// A body path: `.key` and `[index]` steps, e.g. `.data.items[0].state` or `[0].id`.
fn parse_path(s: &str, at: usize) -> Result<Vec<Segment>> {
    let mut path = Vec::new();
    let mut i = 0;
    while let Some(&byte) = s.as_bytes().get(i) {
        match byte {
            b'.' => {
                let end = s[i + 1..].find(['.', '[']).map_or(s.len(), |n| i + 1 + n);
                path.push(parse_key(&s[i + 1..end], at + i)?);
                i = end;
            }
            b'[' => {
                let close = s[i..].find(']').map(|n| i + n);
                let close = close.ok_or_else(|| ParseError::new(at + i, "unclosed '['"))?;
                path.push(parse_index(&s[i + 1..close], at + i + 1)?);
                i = close + 1;
            }
            _ => return Err(ParseError::new(at + i, "expected '.' or '[' in body path")),
        }
    }
    Ok(path)
}

/// The key after a dot at `dot_at`.
fn parse_key(key: &str, dot_at: usize) -> Result<Segment> {
    if key.is_empty() {
        return Err(ParseError::new(dot_at, "missing key after '.'"));
    }
    if let Some((n, _)) = key.char_indices().find(|(_, c)| c.is_whitespace()) {
        return Err(ParseError::new(
            dot_at + 1 + n,
            "unexpected space in body path",
        ));
    }
    Ok(Segment::Key(key.to_owned()))
}

fn parse_index(digits: &str, at: usize) -> Result<Segment> {
    let is_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    match digits.parse() {
        Ok(index) if is_digits => Ok(Segment::Index(index)),
        _ => Err(ParseError::new(
            at,
            "array index must be a whole number, e.g. [0]",
        )),
    }
}

/// A number, a bare word or a double-quoted string.
fn parse_literal(s: &str, at: usize) -> Result<Literal> {
    if s.starts_with('"') {
        return parse_quoted(s, at);
    }
    if let Some((n, _)) = s.char_indices().find(|(_, c)| c.is_whitespace()) {
        let message = "unquoted value contains a space, wrap it in double quotes";
        return Err(ParseError::new(at + n, message));
    }
    Ok(Literal {
        value: s.to_owned(),
        at,
    })
}

/// `"..."` with `\"` and `\\` as the only escapes (any other backslash is kept as written).
fn parse_quoted(s: &str, at: usize) -> Result<Literal> {
    let mut value = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped @ ('"' | '\\'))) => value.push(escaped),
                Some((_, other)) => value.extend(['\\', other]),
                None => value.push('\\'),
            },
            '"' if i + 1 == s.len() => return Ok(Literal { value, at }),
            '"' => {
                return Err(ParseError::new(
                    at + i + 1,
                    "unexpected text after closing quote",
                ))
            }
            _ => value.push(c),
        }
    }
    Err(ParseError::new(at, "unclosed quote"))
}

fn leading_spaces(s: &str) -> usize {
    s.len() - s.trim_start().len()
}
