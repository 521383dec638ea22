//! Table-driven tests: one row per behaviour, so a failing row names the exact condition.

use super::{Condition, Context, Evaluation, ParseError, Placeholder};

const OK_BODY: &str = r#"{"status":"ok","count":3,"ratio":0.75,"healthy":true,"nothing":null,
"message":"all good here","version":"1.2.3","greeting":"héllo wörld",
"data":{"items":[{"state":"up","tags":["a","b"]},{"state":"down","tags":[]}]},
"matrix":[[1,2],[3,4]]}"#;

const THIRTY_DAYS_MS: i64 = 30 * 24 * 3600 * 1000;

/// A healthy HTTPS check with a JSON body.
fn ok() -> Context<'static> {
    Context {
        status: Some(200),
        response_time_ms: Some(150),
        body: Some(OK_BODY),
        connected: Some(true),
        certificate_expiration_ms: Some(THIRTY_DAYS_MS),
        ip: Some("192.0.2.10"),
        dns_rcode: None,
    }
}

/// JSON body, but the service reports itself degraded.
fn degraded() -> Context<'static> {
    Context {
        status: Some(200),
        body: Some(r#"{"status":"degraded","items":[]}"#),
        ..Context::default()
    }
}

/// A failing plain-HTTP check with a text body.
fn down() -> Context<'static> {
    Context {
        status: Some(503),
        response_time_ms: Some(2500),
        body: Some("Service Unavailable"),
        connected: Some(true),
        ..Context::default()
    }
}

/// A body whose top level is an array.
fn array() -> Context<'static> {
    Context {
        body: Some(r#"[{"id":7,"name":"first"},{"id":8}]"#),
        ..Context::default()
    }
}

fn dns() -> Context<'static> {
    Context {
        ip: Some("198.51.100.7"),
        dns_rcode: Some("NXDOMAIN"),
        ..Context::default()
    }
}

fn tcp_refused() -> Context<'static> {
    Context {
        connected: Some(false),
        ..Context::default()
    }
}

fn expired() -> Context<'static> {
    Context {
        certificate_expiration_ms: Some(-5_000),
        ..Context::default()
    }
}

fn long_body() -> Context<'static> {
    Context {
        body: Some("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"),
        ..Context::default()
    }
}

fn nothing() -> Context<'static> {
    Context::default()
}

type Row = (&'static str, fn() -> Context<'static>, bool, &'static str);

#[rustfmt::skip]
const EVALUATIONS: &[Row] = &[
    // [STATUS] and every operator
    ("[STATUS] == 200", ok, true, "[STATUS] (200) == 200"),
    ("[STATUS] == 200", down, false, "[STATUS] (503) == 200"),
    ("[STATUS] != 200", down, true, "[STATUS] (503) != 200"),
    ("[STATUS] < 300", ok, true, "[STATUS] (200) < 300"),
    ("[STATUS] <= 200", ok, true, "[STATUS] (200) <= 200"),
    ("[STATUS] > 500", down, true, "[STATUS] (503) > 500"),
    ("[STATUS] >= 504", down, false, "[STATUS] (503) >= 504"),
    ("[STATUS]>=201", ok, false, "[STATUS] (200) >= 201"),
    ("  [STATUS]  ==  \"200\"  ", ok, true, "[STATUS] (200) == \"200\""),
    ("200 == [STATUS]", ok, true, "200 == [STATUS] (200)"),
    ("[STATUS] == 200.0", ok, true, "[STATUS] (200) == 200.0"),
    ("[STATUS] == 200", nothing, false, "[STATUS] (missing) == 200"),
    // [RESPONSE_TIME], with durations accepted as milliseconds
    ("[RESPONSE_TIME] < 2000", ok, true, "[RESPONSE_TIME] (150) < 2000"),
    ("[RESPONSE_TIME] < 2000", down, false, "[RESPONSE_TIME] (2500) < 2000"),
    ("[RESPONSE_TIME] <= 2s", down, false, "[RESPONSE_TIME] (2500) <= 2s"),
    ("[RESPONSE_TIME] < [STATUS]", ok, true, "[RESPONSE_TIME] (150) < [STATUS] (200)"),
    // [BODY] paths: strings, numbers, bools, null, nesting, arrays
    ("[BODY].status == ok", ok, true, "[BODY].status (ok) == ok"),
    ("[BODY].status == ok", degraded, false, "[BODY].status (degraded) == ok"),
    ("[BODY].count == 3", ok, true, "[BODY].count (3) == 3"),
    ("[BODY].count == 03.0", ok, true, "[BODY].count (3) == 03.0"),
    ("[BODY].count > 2.5", ok, true, "[BODY].count (3) > 2.5"),
    ("[BODY].ratio == 0.750", ok, true, "[BODY].ratio (0.75) == 0.750"),
    ("[BODY].ratio < -1", ok, false, "[BODY].ratio (0.75) < -1"),
    ("[BODY].ratio > -1e3", ok, true, "[BODY].ratio (0.75) > -1e3"),
    ("[BODY].healthy == true", ok, true, "[BODY].healthy (true) == true"),
    ("[BODY].nothing == null", ok, true, "[BODY].nothing (null) == null"),
    ("[BODY].version == 1.2.3", ok, true, "[BODY].version (1.2.3) == 1.2.3"),
    ("[BODY].greeting == \"héllo wörld\"", ok, true, "[BODY].greeting (héllo wörld) == \"héllo wörld\""),
    ("[BODY].message == \"all good here\"", ok, true, "[BODY].message (all good here) == \"all good here\""),
    ("[BODY].message != \"all good\"", ok, true, "[BODY].message (all good here) != \"all good\""),
    ("[BODY].data.items[0].state == up", ok, true, "[BODY].data.items[0].state (up) == up"),
    ("[BODY].data.items[0].tags[1] == b", ok, true, "[BODY].data.items[0].tags[1] (b) == b"),
    ("[BODY].matrix[1][0] == 3", ok, true, "[BODY].matrix[1][0] (3) == 3"),
    ("[BODY].matrix[0] == \"[1,2]\"", ok, true, "[BODY].matrix[0] ([1,2]) == \"[1,2]\""),
    ("[BODY][0].id == 7", array, true, "[BODY][0].id (7) == 7"),
    ("[BODY][1].name == first", array, false, "[BODY][1].name (missing) == first"),
    // missing values fail whatever the operator
    ("[BODY].missing == ok", ok, false, "[BODY].missing (missing) == ok"),
    ("[BODY].missing != ok", ok, false, "[BODY].missing (missing) != ok"),
    ("[BODY].data.items[1].tags[0] == a", ok, false, "[BODY].data.items[1].tags[0] (missing) == a"),
    ("[BODY][2].id == 7", array, false, "[BODY][2].id (missing) == 7"),
    ("[BODY].status.deeper == ok", ok, false, "[BODY].status.deeper (missing) == ok"),
    ("[BODY].data[0] == x", ok, false, "[BODY].data[0] (missing) == x"),
    ("[BODY].status == ok", down, false, "[BODY].status (missing) == ok"),
    ("[BODY].status == ok", nothing, false, "[BODY].status (missing) == ok"),
    // whole body, truncated in descriptions
    ("[BODY] == \"Service Unavailable\"", down, true, "[BODY] (Service Unavailable) == \"Service Unavailable\""),
    ("[BODY] == x", long_body, false, "[BODY] (0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijk...) == x"),
    // ordering needs numbers
    ("[BODY].status > 5", ok, false, "[BODY].status (ok) > 5 (> needs two numbers)"),
    ("[BODY].version < 2", ok, false, "[BODY].version (1.2.3) < 2 (< needs two numbers)"),
    // pat()
    ("[BODY] == pat(*Unavailable)", down, true, "[BODY] (Service Unavailable) == pat(*Unavailable)"),
    ("[BODY] == pat(Service)", down, false, "[BODY] (Service Unavailable) == pat(Service)"),
    ("[BODY] == pat(*\"status\":\"ok\"*)", ok, true, "[BODY] ({\"status\":\"ok\",\"count\":3,\"ratio\":0.75,\"healthy\":true,\"not...) == pat(*\"status\":\"ok\"*)"),
    ("[BODY].version == pat(1.?.*)", ok, true, "[BODY].version (1.2.3) == pat(1.?.*)"),
    ("[BODY].version != pat(2.*)", ok, true, "[BODY].version (1.2.3) != pat(2.*)"),
    ("[BODY].status == pat(o?)", ok, true, "[BODY].status (ok) == pat(o?)"),
    ("[STATUS] == pat(2??)", ok, true, "[STATUS] (200) == pat(2??)"),
    ("[IP] == pat(\"192.0.2.*\")", ok, true, "[IP] (192.0.2.10) == pat(\"192.0.2.*\")"),
    // any()
    ("[BODY].status == any(ok, fine)", ok, true, "[BODY].status (ok) == any(ok, fine)"),
    ("[BODY].status == any(degraded, down)", ok, false, "[BODY].status (ok) == any(degraded, down)"),
    ("[BODY].status != any(degraded, down)", ok, true, "[BODY].status (ok) != any(degraded, down)"),
    ("[STATUS] == any(200.0, 204)", ok, true, "[STATUS] (200) == any(200.0, 204)"),
    ("[BODY].message == any(\"all good here\", \"a, b\")", ok, true, "[BODY].message (all good here) == any(\"all good here\", \"a, b\")"),
    // len()
    ("len([BODY].items) > 0", degraded, false, "len([BODY].items) (0) > 0"),
    ("len([BODY].data.items) == 2", ok, true, "len([BODY].data.items) (2) == 2"),
    ("len([BODY].data) == 1", ok, true, "len([BODY].data) (1) == 1"),
    ("len([BODY].greeting) == 11", ok, true, "len([BODY].greeting) (11) == 11"),
    ("len([BODY]) == 19", down, true, "len([BODY]) (19) == 19"),
    ("len([BODY].missing) > 0", ok, false, "len([BODY].missing) (missing) > 0"),
    ("len([IP]) >= 7", ok, true, "len([IP]) (10) >= 7"),
    // has()
    ("has([BODY].data.items) == true", ok, true, "has([BODY].data.items) (true) == true"),
    ("has([BODY].errors) == false", ok, true, "has([BODY].errors) (false) == false"),
    ("has([BODY].status) == true", down, false, "has([BODY].status) (false) == true"),
    // [CONNECTED]
    ("[CONNECTED] == true", ok, true, "[CONNECTED] (true) == true"),
    ("[CONNECTED] == true", tcp_refused, false, "[CONNECTED] (false) == true"),
    // [CERTIFICATE_EXPIRATION]: durations or plain milliseconds
    ("[CERTIFICATE_EXPIRATION] > 48h", ok, true, "[CERTIFICATE_EXPIRATION] (2592000000) > 48h"),
    ("[CERTIFICATE_EXPIRATION] > 7d", ok, true, "[CERTIFICATE_EXPIRATION] (2592000000) > 7d"),
    ("[CERTIFICATE_EXPIRATION] > 31days", ok, false, "[CERTIFICATE_EXPIRATION] (2592000000) > 31days"),
    ("[CERTIFICATE_EXPIRATION] >= 2592000000", ok, true, "[CERTIFICATE_EXPIRATION] (2592000000) >= 2592000000"),
    ("[CERTIFICATE_EXPIRATION] > 1h", expired, false, "[CERTIFICATE_EXPIRATION] (-5000) > 1h"),
    ("[CERTIFICATE_EXPIRATION] > 48h", down, false, "[CERTIFICATE_EXPIRATION] (missing) > 48h"),
    // [IP] and [DNS_RCODE]
    ("[IP] == 192.0.2.10", ok, true, "[IP] (192.0.2.10) == 192.0.2.10"),
    ("[IP] == 192.0.2.10", dns, false, "[IP] (198.51.100.7) == 192.0.2.10"),
    ("[DNS_RCODE] == NOERROR", dns, false, "[DNS_RCODE] (NXDOMAIN) == NOERROR"),
    ("[DNS_RCODE] == any(NOERROR, NXDOMAIN)", dns, true, "[DNS_RCODE] (NXDOMAIN) == any(NOERROR, NXDOMAIN)"),
    ("[DNS_RCODE] == NOERROR", ok, false, "[DNS_RCODE] (missing) == NOERROR"),
];

#[test]
fn evaluates_every_row() {
    for &(text, context, passed, description) in EVALUATIONS {
        let condition = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        let expected = Evaluation {
            passed,
            description: description.to_owned(),
        };
        assert_eq!(condition.evaluate(&context()), expected, "{text}");
    }
}

#[rustfmt::skip]
const PARSE_ERRORS: &[(&str, usize, &str)] = &[
    ("", 0, "empty condition"),
    ("   ", 0, "empty condition"),
    ("[STATUS] 200", 0, "missing comparison operator (==, !=, <, <=, >, >=)"),
    ("[STATUS] = 200", 9, "'=' is not an operator, use '=='"),
    ("[STATUS] == 200 == 300", 16, "more than one comparison operator ('==')"),
    ("[STATUS] > 200 <= 300", 15, "more than one comparison operator ('<=')"),
    ("[STATUS] === 200", 11, "unexpected '=' after '=='"),
    ("[STATUS] <== 200", 11, "unexpected '=' after '<='"),
    ("[STATUS] => 200", 9, "'=>' is not an operator, use '>='"),
    ("[STATUS] =< 200", 9, "'=<' is not an operator, use '<='"),
    (" == 200", 1, "missing value before '=='"),
    ("[STATUS] !=   ", 11, "missing value after '!='"),
    ("[STATUSS] == 200", 0, "unknown placeholder [STATUSS]"),
    ("[BODY].a == [status]", 12, "unknown placeholder [status], did you mean [STATUS]"),
    ("[BODY.status == ok", 0, "unclosed '['"),
    ("[[[", 2, "unclosed '['"),
    ("len([BODY].items > 0", 3, "unclosed '('"),
    ("len([BODY) > 0", 4, "unclosed '['"),
    ("[BODY].items] == 1", 12, "unmatched ']'"),
    ("[BODY].name == \"john", 15, "unclosed quote"),
    ("[BODY].name == \"john\"x", 21, "unexpected text after closing quote"),
    ("[BODY].name == john doe", 19, "unquoted value contains a space, wrap it in double quotes"),
    ("size([BODY]) > 0", 0, "unknown function 'size' (expected len, has, pat or any)"),
    ("len() > 0", 0, "len() needs a placeholder, e.g. len([BODY].items)"),
    ("len(200) > 0", 4, "len() takes a placeholder such as [BODY].items"),
    ("len([BODY]) x > 0", 11, "unexpected text after ')'"),
    ("[BODY] == pat()", 10, "pat() needs a pattern, e.g. pat(2*)"),
    ("pat(2*) == [STATUS]", 0, "pat() is only allowed on the right side"),
    ("any(1, 2) == [STATUS]", 0, "any() is only allowed on the right side"),
    ("[STATUS] < pat(2*)", 9, "pat() only works with == or !="),
    ("[STATUS] == any()", 12, "any() needs at least one value"),
    ("[STATUS] == any(200,,201)", 20, "empty value in any()"),
    ("[STATUS].code == 1", 8, "only [BODY] can be followed by a path, not [STATUS]"),
    ("[BODY].. == 1", 6, "missing key after '.'"),
    ("[BODY].items[x] == 1", 13, "array index must be a whole number, e.g. [0]"),
    ("[BODY].items[] == 1", 13, "array index must be a whole number, e.g. [0]"),
    ("[BODY]status == 1", 6, "expected '.' or '[' in body path"),
    ("ok == ok", 0, "condition reads no placeholder such as [STATUS] or [BODY]"),
    ("[STATUS] == ok", 12, "expected a number to compare with [STATUS], found 'ok'"),
    ("len([BODY]) > many", 14, "expected a number to compare with len([BODY]), found 'many'"),
    ("[STATUS] == any(200, ok)", 21, "expected a number to compare with [STATUS], found 'ok'"),
    ("[RESPONSE_TIME] < fast", 18, "expected milliseconds or a duration like 48h to compare with [RESPONSE_TIME], found 'fast'"),
    ("[CERTIFICATE_EXPIRATION] > soon", 27, "expected milliseconds or a duration like 48h to compare with [CERTIFICATE_EXPIRATION], found 'soon'"),
    ("[CONNECTED] == yes", 15, "expected true or false to compare with [CONNECTED], found 'yes'"),
    ("has([BODY].x) > 1", 14, "has([BODY].x) is true or false, compare it with == or !="),
    ("[BODY].é == «x»]", 18, "unmatched ']'"),
];

#[test]
fn rejects_every_malformed_row() {
    for &(text, offset, message) in PARSE_ERRORS {
        let expected = ParseError {
            offset,
            message: message.to_owned(),
        };
        assert_eq!(Condition::parse(text), Err(expected), "{text}");
        assert_well_formed_error(text, &Condition::parse(text).unwrap_err());
    }
}

/// Errors end up after `file:line:column: `: lowercase, no final period, inside the text.
fn assert_well_formed_error(text: &str, error: &ParseError) {
    let first = error.message.chars().next();
    assert!(
        first.is_some_and(|c| !c.is_uppercase()),
        "{text}: {error:?}"
    );
    assert!(!error.message.ends_with('.'), "{text}: {error:?}");
    assert!(error.offset <= text.len(), "{text}: {error:?}");
    assert!(text.is_char_boundary(error.offset), "{text}: {error:?}");
    assert_eq!(error.to_string(), error.message);
}

#[test]
fn odd_inputs_never_panic() {
    let long_path = format!("[BODY]{} == 1", ".a".repeat(10_000));
    let long_number = format!("[STATUS] == {}", "9".repeat(1_000));
    let nested = "(".repeat(10_000);
    let odd = [
        "",
        " ",
        "\t\n",
        "é",
        "日本語 == 日本語",
        "[BODY].日本 == 語",
        "[",
        "]",
        "(",
        ")",
        "\"",
        "\\",
        "\"\\",
        "[[[",
        "]]]",
        "==",
        "<",
        "<=>",
        "!",
        "=",
        "[BODY]..",
        "[BODY][",
        "[BODY][] == 1",
        "[BODY][99999999999999999999999] == 1",
        "any(",
        "len(len([BODY]))",
        "[BODY] == \"\\\"",
        "[BODY] == pat(****)",
        "[BODY] == pat(*?*?*)",
        "[BODY] == any(,)",
        "[BODY] == any(\"a\",)",
        "[STATUS] == -",
        "[STATUS] == 1e",
        "[STATUS] == .5",
        "[CERTIFICATE_EXPIRATION] > 99999999999999999999999d",
        "has([BODY]) == true",
        &long_path,
        &long_number,
        &nested,
    ];
    for text in odd {
        check_never_panics(text);
    }
}

/// Every short sequence of awkward tokens: a cheap, deterministic fuzz.
#[test]
fn token_soup_never_panics() {
    let tokens = [
        "[STATUS]", "[BODY]", ".a", "[0]", "len(", "any(", "pat(", ")", "(", "[", "]", "\"", "==",
        "<", " ", "1", "x", ",", "é", "\\",
    ];
    for a in tokens {
        for b in tokens {
            for c in tokens {
                for d in tokens {
                    check_never_panics(&[a, b, c, d].concat());
                }
            }
        }
    }
}

fn check_never_panics(text: &str) {
    match Condition::parse(text) {
        Ok(condition) => {
            for context in [ok(), down(), array(), nothing(), long_body()] {
                let evaluation = condition.evaluate(&context);
                assert!(!evaluation.description.is_empty(), "{text}");
            }
        }
        Err(error) => assert_well_formed_error(text, &error),
    }
}

#[test]
fn placeholders_are_listed_once_in_order() {
    let cases: &[(&str, &[Placeholder])] = &[
        ("[STATUS] == 200", &[Placeholder::Status]),
        ("200 == [STATUS]", &[Placeholder::Status]),
        (
            "[RESPONSE_TIME] < [STATUS]",
            &[Placeholder::ResponseTime, Placeholder::Status],
        ),
        ("len([BODY].a) > [BODY].b", &[Placeholder::Body]),
        ("has([IP]) == true", &[Placeholder::Ip]),
        ("[CONNECTED] == true", &[Placeholder::Connected]),
        (
            "[CERTIFICATE_EXPIRATION] > 1h",
            &[Placeholder::CertificateExpiration],
        ),
        ("[DNS_RCODE] == any(NOERROR)", &[Placeholder::DnsRcode]),
    ];
    for &(text, expected) in cases {
        let condition = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        assert_eq!(condition.placeholders(), expected, "{text}");
    }
}

#[test]
fn placeholder_names_round_trip() {
    for placeholder in Placeholder::ALL {
        let text = format!("{placeholder} == pat(*)");
        let condition = Condition::parse(&text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        assert_eq!(condition.placeholders(), [placeholder]);
        assert_eq!(placeholder.to_string(), placeholder.as_str());
    }
    assert_eq!(Placeholder::Status.as_str(), "[STATUS]");
    assert_eq!(
        Placeholder::CertificateExpiration.as_str(),
        "[CERTIFICATE_EXPIRATION]"
    );
}

#[test]
fn keeps_the_text_as_written() {
    let text = "  [BODY].status==ok ";
    let condition = Condition::parse(text).expect("valid");
    assert_eq!(condition.text(), text);
    assert_eq!(condition.to_string(), text);
    assert_eq!(Condition::parse(text), Ok(condition.clone()));
    assert_ne!(Condition::parse("[BODY].status == ko"), Ok(condition));
}

#[test]
fn one_condition_serves_many_checks() {
    let condition = Condition::parse("[BODY].status == ok").expect("valid");
    assert!(condition.evaluate(&ok()).passed);
    assert!(!condition.evaluate(&degraded()).passed);
    assert!(condition.evaluate(&ok()).passed);
}
