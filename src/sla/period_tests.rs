//! Table tests of report periods: UTC calendar months, days and `YYYY-MM` (rule 8).

use super::*;
use crate::domain::Timestamp;

const DAY: i64 = 86_400_000;

/// 2026-09-01T00:00:00Z.
const SEP_2026: i64 = 1_788_220_800_000;

fn check_month(year: i32, month: u8, expected: Option<(i64, i64)>) {
    assert_eq!(
        month_bounds(year, month),
        expected.map(|(from, to)| (Timestamp(from), Timestamp(to))),
        "{year}-{month}"
    );
}

#[test]
fn month_bounds_are_utc_calendar_months() {
    check_month(2026, 9, Some((SEP_2026, SEP_2026 + 30 * DAY)));
    check_month(1970, 1, Some((0, 31 * DAY)));
    check_month(2026, 12, Some((1_796_083_200_000, 1_798_761_600_000)));
    check_month(
        2028,
        2,
        Some((1_832_976_000_000, 1_832_976_000_000 + 29 * DAY)),
    );
    check_month(
        2026,
        2,
        Some((1_769_904_000_000, 1_769_904_000_000 + 28 * DAY)),
    );
    check_month(2026, 0, None);
    check_month(2026, 13, None);
    check_month(9999, 12, None);
    check_month(i32::MAX, 12, None);
}

#[test]
fn months_tile_time_with_their_calendar_lengths() {
    let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut previous_end = None;
    for (month, days) in (1..=12).zip(lengths) {
        let bounds = month_bounds(2026, month);
        let (from, to) = bounds.unwrap_or((Timestamp(0), Timestamp(0)));
        assert_eq!(to.millis() - from.millis(), days * DAY, "2026-{month}");
        if let Some(end) = previous_end {
            assert_eq!(from, end, "2026-{month} starts where the previous ended");
        }
        previous_end = Some(to);
    }
    assert_eq!(month_bounds(2027, 1).map(|b| b.0), previous_end);
}

fn summary(from: i64, to: i64) -> Vec<(String, i64, i64)> {
    days(Timestamp(from), Timestamp(to))
        .into_iter()
        .map(|(label, from, to)| (label, from.millis(), to.millis()))
        .collect()
}

#[test]
fn days_split_a_period_at_utc_midnights() {
    let noon = SEP_2026 + DAY / 2;
    let sep3_5h = SEP_2026 + 2 * DAY + 5 * 3_600_000;
    assert_eq!(
        summary(noon, sep3_5h),
        [
            ("2026-09-01".to_owned(), noon, SEP_2026 + DAY),
            ("2026-09-02".to_owned(), SEP_2026 + DAY, SEP_2026 + 2 * DAY),
            ("2026-09-03".to_owned(), SEP_2026 + 2 * DAY, sep3_5h),
        ]
    );
    assert_eq!(
        summary(-1, 1),
        [
            ("1969-12-31".to_owned(), -1, 0),
            ("1970-01-01".to_owned(), 0, 1)
        ]
    );
    assert_eq!(
        summary(i64::MAX - 1, i64::MAX).len(),
        1,
        "beyond the calendar"
    );
    assert!(summary(SEP_2026, SEP_2026).is_empty());
    assert!(summary(SEP_2026, SEP_2026 - 1).is_empty());

    let month = summary(SEP_2026, SEP_2026 + 30 * DAY);
    assert_eq!(month.len(), 30);
    assert_eq!(
        month[29],
        (
            "2026-09-30".to_owned(),
            SEP_2026 + 29 * DAY,
            SEP_2026 + 30 * DAY
        )
    );
    assert!(month.iter().all(|(_, from, to)| to - from == DAY));
}

#[test]
fn parse_month_is_strict() {
    for (text, expected) in [
        ("2026-09", Some((2026, 9))),
        ("2028-02", Some((2028, 2))),
        ("2026-12", Some((2026, 12))),
        ("0001-01", Some((1, 1))),
        ("2026-9", None),
        ("2026-13", None),
        ("2026-00", None),
        ("26-09", None),
        ("2026-09x", None),
        ("2026-09-01", None),
        (" 2026-09", None),
        ("2026/09", None),
        ("+026-09", None),
        ("2026-0a", None),
        ("２０２６-09", None),
        ("", None),
    ] {
        assert_eq!(parse_month(text), expected, "{text:?}");
    }
}
