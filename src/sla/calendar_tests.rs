//! Calendars of sla-rules 2.1: the worked examples, the business-hour boundaries, holidays,
//! extremes, and seeded property checks.

use super::{business_ms, deadline, Calendar, TicketSettings, HOUR_MS};
use crate::domain::{Severity, Timestamp};
use time::macros::date;
use time::Date;

const H: i64 = HOUR_MS;
const M: i64 = 60_000;
const DAY: i64 = 24 * H;

/// `2026-11-27 15:00` (UTC) as a timestamp; the test's own literals, so failure is a bug here.
fn utc(text: &str) -> Timestamp {
    let rfc3339 = format!("{}:00Z", text.replace(' ', "T"));
    Timestamp::parse(&rfc3339).unwrap_or_else(|| panic!("bad test time {text}"))
}

fn tier2(holidays: &[Date]) -> Calendar {
    Calendar::Tier2 {
        holidays: holidays.to_vec(),
    }
}

#[test]
fn worked_examples_of_sla_rules_2_1() {
    // Friday 2026-11-27 15:00 UTC.
    let friday = utc("2026-11-27 15:00");
    let c2 = tier2(&[]);
    // Medium: Fri 1 h + Mon 10 + Tue 10 + Wed 3 => Wed 09:00 (Sat 15:00 under C1).
    assert_eq!(deadline(friday, 24 * H, &c2), utc("2026-12-02 09:00"));
    assert_eq!(
        deadline(friday, 24 * H, &Calendar::Calendar),
        utc("2026-11-28 15:00")
    );
    // Low: Fri 1 + next week 50 + Mon/Tue 20 + 1 => Wed 07:00 twelve days later (Mon 15:00
    // under C1).
    assert_eq!(deadline(friday, 72 * H, &c2), utc("2026-12-09 07:00"));
    assert_eq!(
        deadline(friday, 72 * H, &c2).millis() - friday.millis(),
        12 * DAY - 8 * H
    );
    assert_eq!(
        deadline(friday, 72 * H, &Calendar::Calendar),
        utc("2026-11-30 15:00")
    );
}

#[test]
fn business_hours_are_half_open_and_the_deadline_the_earliest_instant() {
    let c2 = tier2(&[]);
    // Monday 2026-11-30 and around it.
    for (received, target, due) in [
        ("2026-11-30 06:00", 10 * H, "2026-11-30 16:00"),
        ("2026-11-30 15:00", H, "2026-11-30 16:00"),
        ("2026-11-30 05:59", H, "2026-11-30 07:00"),
        ("2026-11-30 00:00", H, "2026-11-30 07:00"),
        ("2026-11-30 16:00", H, "2026-12-01 07:00"),
        ("2026-11-30 23:59", 10 * H, "2026-12-01 16:00"),
        ("2026-11-28 10:00", H, "2026-11-30 07:00"),
        ("2026-11-27 16:00", 10 * H, "2026-11-30 16:00"),
        ("2026-11-29 23:59", 24 * H, "2026-12-02 10:00"),
        ("2026-11-30 10:00", 50 * H, "2026-12-07 10:00"),
        ("2026-11-30 06:00", 50 * H, "2026-12-04 16:00"),
        ("2026-11-30 06:00", 100 * H, "2026-12-11 16:00"),
        ("2026-11-28 12:00", 0, "2026-11-28 12:00"),
        ("2026-11-28 12:00", -H, "2026-11-28 12:00"),
    ] {
        assert_eq!(
            deadline(utc(received), target, &c2),
            utc(due),
            "{received} + {target} ms"
        );
    }
    // One millisecond before closing, one millisecond of target: due exactly at 16:00.
    let almost = utc("2026-11-30 16:00").plus_ms(-1);
    assert_eq!(deadline(almost, 1, &c2), utc("2026-11-30 16:00"));
}

#[test]
fn holidays_are_not_business_days() {
    // Christmas 2026 is a Friday; with Monday 28th also off, Medium from Thursday 24th 15:00:
    // Thu 1 h + Tue 10 + Wed 10 + Thu 3 => Thursday 31st 09:00 (Tuesday 29th without them).
    let christmas = [date!(2026 - 12 - 25), date!(2026 - 12 - 28)];
    let received = utc("2026-12-24 15:00");
    assert_eq!(
        deadline(received, 24 * H, &tier2(&christmas)),
        utc("2026-12-31 09:00")
    );
    assert_eq!(
        deadline(received, 24 * H, &tier2(&[])),
        utc("2026-12-29 09:00")
    );
    // Received on a holiday: starts the next business day at 06:00.
    assert_eq!(
        deadline(utc("2026-12-25 11:00"), H, &tier2(&christmas)),
        utc("2026-12-29 07:00")
    );
    // Unsorted, duplicated, or on a weekend: the same calendar.
    let messy = [
        date!(2026 - 12 - 28),
        date!(2026 - 12 - 26),
        date!(2026 - 12 - 25),
        date!(2026 - 12 - 28),
    ];
    assert_eq!(
        deadline(received, 24 * H, &tier2(&messy)),
        utc("2026-12-31 09:00")
    );
    // A holiday in the second week of the Low example moves it one business day.
    let friday = utc("2026-11-27 15:00");
    assert_eq!(
        deadline(friday, 72 * H, &tier2(&[date!(2026 - 12 - 07)])),
        utc("2026-12-10 07:00")
    );
    assert_eq!(
        business_ms(
            friday,
            utc("2026-12-10 07:00"),
            &tier2(&[date!(2026 - 12 - 07)])
        ),
        72 * H
    );
}

#[test]
fn critical_and_high_are_always_24x7() {
    let settings = TicketSettings {
        calendar: tier2(&[]),
        ..TicketSettings::default()
    };
    for (severity, name) in [
        (Severity::Critical, "calendar"),
        (Severity::High, "calendar"),
        (Severity::Medium, "tier2"),
        (Severity::Low, "tier2"),
    ] {
        assert_eq!(settings.calendar_for(severity).name(), name, "{severity}");
    }
    assert_eq!(Calendar::default(), Calendar::Calendar);
}

#[test]
fn business_time_between_instants() {
    let c2 = tier2(&[]);
    for (from, to, expected) in [
        ("2026-11-27 15:00", "2026-12-02 09:00", 24 * H),
        ("2026-11-28 00:00", "2026-11-30 06:00", 0),
        ("2026-11-30 05:00", "2026-11-30 17:00", 10 * H),
        ("2026-11-30 12:00", "2026-11-30 12:30", 30 * M),
        ("2026-11-30 12:00", "2026-11-30 11:00", 0),
        ("2026-11-02 00:00", "2027-11-01 00:00", 52 * 50 * H),
    ] {
        assert_eq!(
            business_ms(utc(from), utc(to), &c2),
            expected,
            "{from} to {to}"
        );
    }
    let (from, to) = (utc("2026-11-30 12:00"), utc("2026-12-01 12:00"));
    assert_eq!(business_ms(from, to, &Calendar::Calendar), DAY);
}

#[test]
fn extremes_saturate_instead_of_overflowing() {
    let c2 = tier2(&[date!(2026 - 12 - 25)]);
    let end = Timestamp(i64::MAX);
    assert_eq!(
        deadline(Timestamp(i64::MAX - 10), H, &Calendar::Calendar),
        end
    );
    assert_eq!(deadline(Timestamp(0), i64::MAX, &c2), end);
    assert_eq!(deadline(Timestamp(i64::MAX), 1, &c2), end);
    let start = Timestamp(i64::MIN);
    assert!(deadline(start, 72 * H, &c2) > start);
    assert_eq!(business_ms(start, end, &Calendar::Calendar), i64::MAX);
    assert!(business_ms(start, end, &c2) > 0);
}

/// A deterministic pseudo-random sequence (Knuth's LCG), so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n) as i64
    }
}

#[test]
fn deadlines_are_never_early_and_count_exactly_the_target() {
    let mut rng = Lcg(0x7ec1_0c4e);
    let base = utc("2026-01-01 00:00").millis();
    for case in 0..2_000 {
        // Minute-aligned or not, over three years, with up to ten holidays in the first year.
        let received = Timestamp(base + rng.below(3 * 365) * DAY + rng.below(DAY as u64));
        let target = match rng.below(4) {
            0 => rng.below(4) * H,
            1 => rng.below(200) * H,
            2 => rng.below(300 * H as u64),
            _ => 1 + rng.below(M as u64),
        };
        let holidays: Vec<Date> = (0..rng.below(11))
            .filter_map(|_| {
                let day = base / DAY + rng.below(400);
                Date::from_julian_day((day + 2_440_588) as i32).ok()
            })
            .collect();
        let c2 = tier2(&holidays);
        let due = deadline(received, target, &c2);
        assert!(due >= received, "case {case}: {received} + {target}");
        assert_eq!(
            business_ms(received, due, &c2),
            target,
            "case {case}: exact"
        );
        if target > 0 {
            let earlier = business_ms(received, due.plus_ms(-1), &c2);
            assert!(earlier < target, "case {case}: the earliest such instant");
        }
        let c1 = deadline(received, target, &Calendar::Calendar);
        assert_eq!(c1.millis() - received.millis(), target, "case {case}: C1");
    }
}
