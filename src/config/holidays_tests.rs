//! The iCalendar holiday reader: what counts as a holiday, and the line of every refusal.

use super::*;
use time::macros::date;

fn calendar(events: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{events}END:VCALENDAR\r\n")
}

fn days(events: &str) -> Result<Vec<Date>, IcsError> {
    parse(&calendar(events))
}

#[test]
fn all_day_events_are_holidays() {
    let got = days(
        "BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261226\r\nSUMMARY:Christmas\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:2\r\nDTSTART;VALUE=DATE:20270101\r\nSUMMARY:New year (no DTEND)\r\nEND:VEVENT\r\n",
    );
    assert_eq!(got, Ok(vec![date!(2026 - 12 - 25), date!(2027 - 01 - 01)]));
}

#[test]
fn multi_day_events_expand_to_each_day() {
    let got = days(
        "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261230\r\nDTEND;VALUE=DATE:20270102\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260501\r\nDURATION:P2D\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260801\r\nDURATION:P1W\r\nEND:VEVENT\r\n",
    )
    .expect("valid");
    assert_eq!(
        got[..5],
        [
            date!(2026 - 05 - 01),
            date!(2026 - 05 - 02),
            date!(2026 - 08 - 01),
            date!(2026 - 08 - 02),
            date!(2026 - 08 - 03),
        ]
    );
    assert_eq!(got.len(), 2 + 7 + 3, "{got:?}");
    assert_eq!(
        got[9..],
        [
            date!(2026 - 12 - 30),
            date!(2026 - 12 - 31),
            date!(2027 - 01 - 01)
        ]
    );
}

#[test]
fn date_times_are_taken_as_their_utc_dates() {
    let got = days(
        // Folded line (RFC 5545 3.1), UTC time, ends at midnight: one day.
        "BEGIN:VEVENT\r\nSUMMARY:Company\r\n  day\r\nDTSTART:20260703T000000Z\r\nDTEND:20260704T000000Z\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nDTSTART:20260710T220000\r\nDURATION:PT4H\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nDTSTART:20260901T120000Z\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nSTATUS:CANCELLED\r\nDTSTART;VALUE=DATE:20261111\r\nEND:VEVENT\r\n",
    );
    assert_eq!(
        got,
        Ok(vec![
            date!(2026 - 07 - 03),
            date!(2026 - 07 - 10),
            date!(2026 - 07 - 11),
            date!(2026 - 09 - 01),
        ])
    );
}

#[test]
fn properties_of_nested_components_do_not_count() {
    let got = days(
        "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
         BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261003\r\nBEGIN:VALARM\r\nTRIGGER:-PT15M\r\nDURATION:PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\n",
    );
    assert_eq!(got, Ok(vec![date!(2026 - 10 - 03)]));
}

#[test]
fn bad_files_name_the_line_and_what_is_wrong() {
    let cases: [(&str, usize, &str); 11] = [
        ("", 1, "the file is empty"),
        ("hello\r\n", 1, "not an iCalendar file"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261325\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", 3, "DTSTART \"20261325\" is not a date like 20261225"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=Europe/Berlin:20261225T000000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", 3, "TZID=Europe/Berlin: times in a named time zone are not supported"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", 4, "RRULE: repeating events are not supported"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", 2, "VEVENT without DTSTART"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nEND:VCALENDAR\r\n", 4, "END:VCALENDAR does not close BEGIN:VEVENT of line 2"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nEND:VEVENT\r\n", 4, "BEGIN:VCALENDAR of line 1 is never closed"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nDURATION:P1X\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", 4, "DURATION \"P1X\" is not a duration"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\nDTEND;VALUE=DATE:20280101\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", 2, "this event lasts 730 days"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n:no name\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", 3, "a line without a property name"),
    ];
    for (text, line, message) in cases {
        match parse(text) {
            Err(e) => {
                assert_eq!(e.line, line, "{text:?}: {e}");
                assert!(e.message.contains(message), "{text:?}: {e}");
            }
            Ok(days) => panic!("{text:?} parsed to {days:?}"),
        }
    }
}

#[test]
fn the_shipped_example_is_valid() {
    let got = parse(include_str!("../../examples/holidays.ics")).expect("examples/holidays.ics");
    assert_eq!(
        got,
        [
            date!(2026 - 12 - 24),
            date!(2026 - 12 - 25),
            date!(2026 - 12 - 26),
            date!(2027 - 01 - 01),
            date!(2027 - 05 - 01),
        ]
    );
}

#[test]
fn durations_follow_rfc_5545() {
    for (text, seconds) in [
        ("P1D", Some(86_400)),
        ("P2W", Some(14 * 86_400)),
        ("PT12H", Some(43_200)),
        ("P1DT6H30M", Some(86_400 + 6 * 3600 + 1800)),
        ("+PT15S", Some(15)),
        ("-P1D", None),
        ("P", None),
        ("PT", None),
        ("P1H", None),
        ("1D", None),
    ] {
        assert_eq!(duration_seconds(text), seconds, "{text}");
    }
}
