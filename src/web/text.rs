//! Bounds on every text field the API and the admin forms take: a length limit and no NUL
//! character, refused with a 422 naming the field. One helper, [`check`], so the limits the
//! OpenAPI document states (`maxLength`, the NUL-free `pattern`) are the limits enforced.
//!
//! Why: a 2 MB title or a NUL in a message is accepted by SQLite and then breaks whatever
//! shows it (the page, feeds, exports, chat notifications); a limit keeps every rendering
//! within sane sizes.

use super::Error;

/// Titles of incidents, maintenance windows and recurring rules.
pub(super) const TITLE: usize = 200;
/// Update messages and maintenance descriptions (Markdown).
pub(super) const MESSAGE: usize = 20_000;
/// Ticket subjects (as the helpdesk had them).
pub(super) const SUBJECT: usize = 1_000;
/// Identifiers and short values: channel and group keys, external ids, sources, cron and
/// weekly rules, durations.
pub(super) const KEY: usize = 200;

/// The JSON Schema pattern of a text without NUL (ECMA-262, as the document's readers use).
pub(super) const NO_NUL: &str = r"^[^\u0000]*$";
/// The pattern of a text without NUL that is not blank: some character that is neither NUL
/// nor whitespace as Rust's `trim` sees it (Unicode White_Space, spelled out because `\s`
/// differs between regex dialects).
pub(super) const NOT_BLANK: &str = concat!(
    r"^[^\u0000]*",
    r"[^\u0000\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]",
    r"[^\u0000]*$"
);

/// Checks `text` has at most `max` characters (Unicode scalar values, as JSON Schema's
/// `maxLength` counts) and no NUL; the error names `field`.
pub(super) fn check(text: &str, field: &str, max: usize) -> Result<(), Error> {
    if text.contains('\0') {
        return Err(Error::Invalid {
            message: format!("{field} must not contain a NUL character"),
            field: field.into(),
        });
    }
    // Bytes bound characters from above: only long texts need counting.
    if text.len() > max && text.chars().count() > max {
        return Err(Error::Invalid {
            message: format!("{field} must be at most {max} characters"),
            field: field.into(),
        });
    }
    Ok(())
}

/// [`check`], and not blank (nothing but whitespace).
pub(super) fn required(text: String, field: &str, max: usize) -> Result<String, Error> {
    if text.trim().is_empty() {
        return Err(Error::Invalid {
            message: format!("{field} must not be empty"),
            field: field.into(),
        });
    }
    check(&text, field, max)?;
    Ok(text)
}

/// [`check`] on each of a list's items; the error names `field[i]`.
pub(super) fn check_each<'a>(
    items: impl IntoIterator<Item = &'a String>,
    field: &str,
    max: usize,
) -> Result<(), Error> {
    for (i, item) in items.into_iter().enumerate() {
        check(item, &format!("{field}[{i}]"), max)?;
    }
    Ok(())
}

/// A string schema of at most `max` characters without NUL; `not_blank` also refuses blank.
pub(super) fn schema(max: usize, not_blank: bool) -> utoipa::openapi::schema::Object {
    typed(max, not_blank, utoipa::openapi::schema::Type::String.into())
}

/// [`schema`] for a field that may also be null.
fn nullable(max: usize) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    typed(
        max,
        false,
        SchemaType::from_iter([Type::String, Type::Null]),
    )
}

fn typed(
    max: usize,
    not_blank: bool,
    schema_type: utoipa::openapi::schema::SchemaType,
) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::ObjectBuilder;
    let builder = ObjectBuilder::new()
        .schema_type(schema_type)
        .max_length(Some(max));
    if not_blank {
        builder.min_length(Some(1)).pattern(Some(NOT_BLANK)).build()
    } else {
        builder.pattern(Some(NO_NUL)).build()
    }
}

/// The schema of a title ([`TITLE`], not blank).
pub(super) fn title_schema() -> utoipa::openapi::schema::Object {
    schema(TITLE, true)
}

/// The schema of a message ([`MESSAGE`]).
pub(super) fn message_schema() -> utoipa::openapi::schema::Object {
    schema(MESSAGE, false)
}

/// The schema of a ticket subject ([`SUBJECT`]).
pub(super) fn subject_schema() -> utoipa::openapi::schema::Object {
    schema(SUBJECT, false)
}

/// The schema of a key or short value ([`KEY`]).
pub(super) fn key_schema() -> utoipa::openapi::schema::Object {
    schema(KEY, false)
}

/// The schema of a required identifier ([`KEY`], not blank).
pub(super) fn id_schema() -> utoipa::openapi::schema::Object {
    schema(KEY, true)
}

/// The schema of an optional key or short value ([`KEY`]), null allowed.
pub(super) fn optional_key_schema() -> utoipa::openapi::schema::Object {
    nullable(KEY)
}

/// The schema of a list of keys ([`KEY`] each).
pub(super) fn key_list_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(key_schema())
        .build()
}

/// [`key_list_schema`], null allowed.
pub(super) fn optional_key_list_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(key_schema())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<(), Error>) -> Option<String> {
        match result {
            Ok(()) => None,
            Err(Error::Invalid { field, .. }) => Some(field),
            Err(other) => panic!("not a 422: {other}"),
        }
    }

    #[test]
    fn lengths_count_characters_and_nul_is_refused() {
        let cases: &[(&str, usize, bool)] = &[
            ("", 3, true),
            ("abc", 3, true),
            ("abcd", 3, false),
            // Three characters in nine bytes: within a limit of three.
            ("ééé", 3, true),
            ("日本語", 3, true),
            ("日本語x", 3, false),
            ("a\0b", 10, false),
            ("\0", 10, false),
            ("tab\tand\nnewline", 20, true),
        ];
        for &(text, max, ok) in cases {
            assert_eq!(
                field_of(check(text, "title", max)),
                (!ok).then(|| "title".to_owned()),
                "{text:?} within {max}"
            );
        }
    }

    #[test]
    fn required_refuses_blank_then_checks_bounds() {
        for (text, ok) in [
            ("x", true),
            ("  x ", true),
            ("", false),
            ("  \n\t", false),
            ("\0", false),
        ] {
            let result = required(text.to_owned(), "title", 5).map(|_| ());
            assert_eq!(field_of(result).is_none(), ok, "{text:?}");
        }
    }

    #[test]
    fn list_items_are_named_by_index() {
        let items = ["ok".to_owned(), "x".repeat(KEY + 1)];
        assert_eq!(
            field_of(check_each(&items, "channels", KEY)),
            Some("channels[1]".to_owned())
        );
    }

    #[test]
    fn the_schema_states_the_same_bounds() {
        let text = serde_json::to_value(schema(TITLE, true)).expect("json");
        assert_eq!(text["maxLength"], TITLE);
        assert_eq!(text["minLength"], 1);
        assert_eq!(text["pattern"], NOT_BLANK);
        let text = serde_json::to_value(schema(MESSAGE, false)).expect("json");
        assert_eq!(text["maxLength"], MESSAGE);
        assert_eq!(text["pattern"], NO_NUL);
    }
}
