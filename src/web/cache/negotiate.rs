//! The two request headers a cached page answers to, parsed by hand because both are small,
//! fixed grammars and the parse sits on the hottest path (no allocation per request):
//! `Accept-Encoding` (RFC 9110 section 12.5.3) picks the precompressed variant, and
//! `If-None-Match` (RFC 9110 section 13.1.2) turns a repeat request into a 304.

/// The precompressed variants every cached page has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coding {
    Identity = 0,
    Gzip = 1,
    Brotli = 2,
}

impl Coding {
    pub(super) const ALL: [Coding; 3] = [Coding::Identity, Coding::Gzip, Coding::Brotli];
}

/// The best coding the client accepts. Each `Accept-Encoding` line is a comma-separated list
/// of `coding[;q=weight]`; a coding not listed gets the weight of `*` if present, otherwise 0,
/// except identity, which stays acceptable unless refused (`identity;q=0`, or `*;q=0` without
/// an identity entry). The highest weight wins; on a tie brotli (smallest), then gzip. If the
/// client refuses everything we have, identity is sent anyway: RFC 9110 allows it, and an
/// answer the client may not like beats a 406 for a status page. Malformed entries are
/// skipped; a malformed weight counts as 0 (never pick a coding on a guess).
pub(super) fn choose<'a>(accept_encoding: impl Iterator<Item = &'a [u8]>) -> Coding {
    // Weights in thousandths; None = not mentioned.
    let mut weights: [Option<u16>; 3] = [None; 3];
    let mut star: Option<u16> = None;
    for line in accept_encoding {
        for entry in line.split(|b| *b == b',') {
            let mut parts = entry.split(|b| *b == b';');
            let name = trim(parts.next().unwrap_or_default());
            if name.is_empty() {
                continue;
            }
            let mut weight = 1000;
            for parameter in parts {
                let parameter = trim(parameter);
                if let Some(value) = parameter
                    .strip_prefix(b"q=")
                    .or_else(|| parameter.strip_prefix(b"Q="))
                {
                    weight = qvalue(trim(value)).unwrap_or(0);
                }
            }
            let slot = if name.eq_ignore_ascii_case(b"br") {
                Some(Coding::Brotli)
            } else if name.eq_ignore_ascii_case(b"gzip") || name.eq_ignore_ascii_case(b"x-gzip") {
                Some(Coding::Gzip)
            } else if name.eq_ignore_ascii_case(b"identity") {
                Some(Coding::Identity)
            } else if name == b"*" {
                star = Some(weight);
                None
            } else {
                None
            };
            if let Some(coding) = slot {
                weights[coding as usize] = Some(weight);
            }
        }
    }
    let weight = |coding: Coding| match (weights[coding as usize], coding) {
        (Some(w), _) => w,
        (None, Coding::Identity) => match star {
            Some(0) => 0,
            _ => 1,
        },
        (None, _) => star.unwrap_or(0),
    };
    let mut best = Coding::Identity;
    for coding in [Coding::Gzip, Coding::Brotli] {
        if weight(coding) > 0 && weight(coding) >= weight(best) {
            best = coding;
        }
    }
    best
}

/// A weight per RFC 9110: `0`, `0.` and up to three decimals, or `1` with only zeros after.
fn qvalue(text: &[u8]) -> Option<u16> {
    let (int, frac) = match text.iter().position(|b| *b == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for i in 0..3 {
        thousandths = thousandths * 10 + frac.get(i).map_or(0, |d| u16::from(d - b'0'));
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Whether `If-None-Match` matches `etag` (the quoted strong tag of the variant being sent),
/// so the answer is 304. `*` matches any current representation; a list matches when one of
/// its tags equals ours by the weak comparison (`W/"x"` matches `"x"`). A header that is not
/// a valid list (garbage, an unquoted tag, `*` inside a list) is ignored: the full page is sent.
pub(in crate::web) fn not_modified<'a>(
    if_none_match: impl Iterator<Item = &'a [u8]>,
    etag: &[u8],
) -> bool {
    let mut matched = false;
    let mut seen_any = false;
    for line in if_none_match {
        let line = trim(line);
        if line == b"*" {
            if seen_any {
                return false;
            }
            seen_any = true;
            matched = true;
            continue;
        }
        let mut rest = line;
        loop {
            rest = trim_start(rest);
            if rest.is_empty() {
                break;
            }
            if rest[0] == b',' {
                rest = &rest[1..];
                continue;
            }
            let Some((tag, after)) = entity_tag(rest) else {
                return false;
            };
            seen_any = true;
            if tag == etag {
                matched = true;
            }
            rest = trim_start(after);
            match rest.first() {
                None => break,
                Some(b',') => rest = &rest[1..],
                Some(_) => return false,
            }
        }
    }
    matched
}

/// One `[W/]"opaque"` at the start of `text`: the quoted opaque tag (weakness dropped, for the
/// weak comparison) and what follows it.
fn entity_tag(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let text = text.strip_prefix(b"W/").unwrap_or(text);
    if text.first() != Some(&b'"') {
        return None;
    }
    let close = text[1..].iter().position(|b| *b == b'"')? + 1;
    let opaque = &text[1..close];
    // etagc = %x21 / %x23-7E / obs-text
    if !opaque
        .iter()
        .all(|b| *b == 0x21 || (0x23..=0x7e).contains(b) || *b >= 0x80)
    {
        return None;
    }
    Some((&text[..=close], &text[close + 1..]))
}

fn trim(text: &[u8]) -> &[u8] {
    let text = trim_start(text);
    let end = text
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(0, |i| i + 1);
    &text[..end]
}

fn trim_start(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .unwrap_or(text.len());
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(lines: &[&str]) -> Coding {
        choose(lines.iter().map(|l| l.as_bytes()))
    }

    #[test]
    fn brotli_is_preferred_and_weights_are_respected() {
        use Coding::*;
        for (lines, expected) in [
            (&[][..], Identity),
            (&[""][..], Identity),
            (&["gzip, deflate, br, zstd"][..], Brotli),
            (&["gzip, deflate"][..], Gzip),
            (&["x-gzip"][..], Gzip),
            (&["GZIP;Q=0.5, Br;q=0.4"][..], Gzip),
            (&["br;q=0.5, gzip;q=0.5"][..], Brotli),
            (&["br;q=0", "gzip"][..], Gzip),
            (&["br;q=0, gzip;q=0"][..], Identity),
            (&["*"][..], Brotli),
            (&["*;q=0.3, br;q=0.2"][..], Gzip),
            (&["identity;q=1, br;q=0.999"][..], Identity),
            (&["identity;q=0.5, gzip;q=0.6"][..], Gzip),
            (&["deflate"][..], Identity),
            (&["*;q=0"][..], Identity),
            (&["br;q=1.5"][..], Identity),
            (&["br;q=abc, gzip;q=0.1"][..], Gzip),
            (&["br ; q=0.9 , gzip ; q=1.0"][..], Gzip),
            (&[" , ;q=1, br"][..], Brotli),
        ] {
            assert_eq!(pick(lines), expected, "{lines:?}");
        }
    }

    #[test]
    fn qvalues_follow_the_grammar() {
        assert_eq!(qvalue(b"1"), Some(1000));
        assert_eq!(qvalue(b"1.000"), Some(1000));
        assert_eq!(qvalue(b"0.5"), Some(500));
        assert_eq!(qvalue(b"0.125"), Some(125));
        assert_eq!(qvalue(b"0."), Some(0));
        assert_eq!(qvalue(b"0.1234"), None);
        assert_eq!(qvalue(b"1.5"), None);
        assert_eq!(qvalue(b"2"), None);
        assert_eq!(qvalue(b"-0"), None);
        assert_eq!(qvalue(b""), None);
    }

    fn matches(lines: &[&str]) -> bool {
        not_modified(lines.iter().map(|l| l.as_bytes()), br#""abc-br""#)
    }

    #[test]
    fn if_none_match_lists_weak_tags_star_and_garbage() {
        for (lines, expected) in [
            (&[r#""abc-br""#][..], true),
            (&[r#"W/"abc-br""#][..], true),
            (&[r#""x", "abc-br""#][..], true),
            (&[r#""x""#, r#""abc-br""#][..], true),
            (&[r#" , "x" ,, W/"abc-br" , "#][..], true),
            (&["*"][..], true),
            (&[r#""abc""#][..], false),
            (&[r#""abc-gz""#][..], false),
            (&[][..], false),
            (&["garbage"][..], false),
            (&["abc-br"][..], false),
            (&[r#""abc-br"garbage"#][..], false),
            (&[r#""abc-br", garbage"#][..], false),
            (&[r#""abc-br", *"#][..], false),
            (&[r#"w/"abc-br""#][..], false),
            (&["\"abc-br"][..], false),
            (&["\"a b\", \"abc-br\""][..], false),
        ] {
            assert_eq!(matches(lines), expected, "{lines:?}");
        }
    }
}
