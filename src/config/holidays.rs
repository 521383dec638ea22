//! `[tickets] holidays_ics`: Tier-2 holidays (sla-rules 2.1, calendar C2) read from an
//! iCalendar file (RFC 5545), because that is how holiday calendars are published and how
//! helpdesks such as JSM import them.
//!
//! The `ical` crate unfolds lines and splits properties; the rules of what counts as a holiday
//! are here, since Beacon's calendar knows only whole UTC days:
//! - an all-day `VEVENT` (`DTSTART;VALUE=DATE:20261225`) is a holiday on each date from its
//!   start up to its exclusive `DTEND` (or its `DURATION` in days or weeks; one day without);
//! - an event with date-times marks every UTC date it touches (times ending in `Z` are UTC;
//!   floating times, without `Z`, are taken as UTC too, Beacon's only time zone);
//! - cancelled events (`STATUS:CANCELLED`) are skipped.
//!
//! What Beacon cannot read exactly is refused with its line, never guessed: repeating events
//! (`RRULE`, `RDATE`), times in a named zone (`TZID`), malformed dates and durations, and
//! events longer than a year.

use ical::line::LineReader;
use ical::property::{Property, PropertyError, PropertyParser};
use time::{Date, Duration, Month, PrimitiveDateTime, Time};

/// Longest event accepted: a "holiday" longer than this is surely a mistake in the file.
const MAX_EVENT_DAYS: i64 = 366;

/// What is wrong with an iCalendar file, and on which line (1-based, as an editor shows it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub(super) struct IcsError {
    pub line: usize,
    pub message: String,
}

/// The holidays an iCalendar text declares, sorted and without duplicates.
pub(super) fn parse(text: &str) -> Result<Vec<Date>, IcsError> {
    if text.trim().is_empty() {
        return Err(error(
            1,
            "the file is empty: expected BEGIN:VCALENDAR".into(),
        ));
    }
    // The two readers unfold the same lines in the same order, so each property is paired
    // with the line it starts on.
    let lines = LineReader::new(text.as_bytes()).map(|l| l.number());
    let properties = PropertyParser::from_reader(text.as_bytes());
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut event: Option<Event> = None;
    let mut days = Vec::new();
    let mut last_line = 1;
    for (line, property) in lines.zip(properties) {
        last_line = line;
        let property = match property {
            Ok(p) => p,
            Err(_) if open.is_empty() => return Err(not_a_calendar(line)),
            Err(e) => return Err(property_error(&e, line)),
        };
        let name = property.name.to_ascii_uppercase();
        let value = property.value.clone().unwrap_or_default();
        if open.is_empty() && !(name == "BEGIN" && value.eq_ignore_ascii_case("VCALENDAR")) {
            return Err(not_a_calendar(line));
        }
        match name.as_str() {
            "BEGIN" => {
                let component = value.to_ascii_uppercase();
                if component == "VEVENT" {
                    event = Some(Event::new(line));
                }
                open.push((component, line));
            }
            "END" => {
                let component = value.to_ascii_uppercase();
                match open.pop() {
                    Some((begun, _)) if begun == component => {}
                    Some((begun, at)) => {
                        return Err(error(
                            line,
                            format!("END:{component} does not close BEGIN:{begun} of line {at}"),
                        ))
                    }
                    None => return Err(error(line, format!("END:{component} closes nothing"))),
                }
                if component == "VEVENT" {
                    if let Some(done) = event.take() {
                        days.extend(done.days()?);
                    }
                }
            }
            _ if open.last().is_some_and(|(c, _)| c == "VEVENT") => {
                if let Some(event) = event.as_mut() {
                    event.set(&name, &property, line)?;
                }
            }
            _ => {}
        }
    }
    if let Some((component, at)) = open.last() {
        return Err(error(
            last_line,
            format!("BEGIN:{component} of line {at} is never closed (END:{component})"),
        ));
    }
    days.sort_unstable();
    days.dedup();
    Ok(days)
}

fn error(line: usize, message: String) -> IcsError {
    IcsError { line, message }
}

fn not_a_calendar(line: usize) -> IcsError {
    error(
        line,
        "expected BEGIN:VCALENDAR: this is not an iCalendar file".into(),
    )
}

/// The `ical` crate's errors carry its own idea of the line; ours is the same line.
fn property_error(e: &PropertyError, line: usize) -> IcsError {
    let what = match e {
        PropertyError::MissingName { .. } => "a line without a property name".to_owned(),
        PropertyError::MissingClosingQuote { .. } => "a parameter misses its closing quote".into(),
        PropertyError::MissingDelimiter { delimiter, .. } => {
            format!("a parameter misses its \"{delimiter}\"")
        }
        PropertyError::MissingContentAfter { letter, .. } => {
            format!("nothing after \"{letter}\": expected NAME;PARAM=VALUE:VALUE")
        }
        PropertyError::MissingParamKey { .. } => "a parameter without a name".into(),
    };
    error(line, what)
}

/// A start or end as written: an all-day date or a date-time (in UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Date(Date),
    DateTime(PrimitiveDateTime),
}

/// The properties of one `VEVENT` that say when it is.
struct Event {
    /// Line of its `BEGIN:VEVENT`.
    line: usize,
    start: Option<(When, usize)>,
    end: Option<(When, usize)>,
    /// Whole seconds, with the line it was on.
    duration: Option<(i64, usize)>,
    cancelled: bool,
}

impl Event {
    fn new(line: usize) -> Event {
        Event {
            line,
            start: None,
            end: None,
            duration: None,
            cancelled: false,
        }
    }

    fn set(&mut self, name: &str, property: &Property, line: usize) -> Result<(), IcsError> {
        match name {
            "DTSTART" => self.start = Some((when(property, line)?, line)),
            "DTEND" => self.end = Some((when(property, line)?, line)),
            "DURATION" => {
                let text = property.value.as_deref().unwrap_or_default();
                let seconds = duration_seconds(text).ok_or_else(|| {
                    error(line, format!("DURATION \"{text}\" is not a duration like P1D, P2W or PT12H"))
                })?;
                self.duration = Some((seconds, line));
            }
            "STATUS" => {
                self.cancelled = property
                    .value
                    .as_deref()
                    .is_some_and(|v| v.eq_ignore_ascii_case("CANCELLED"));
            }
            "RRULE" | "RDATE" => {
                return Err(error(
                    line,
                    format!("{name}: repeating events are not supported; list each holiday as its own event"),
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// The UTC dates this event makes holidays.
    fn days(self) -> Result<Vec<Date>, IcsError> {
        if self.cancelled {
            return Ok(Vec::new());
        }
        let Some((start, start_line)) = self.start else {
            return Err(error(self.line, "VEVENT without DTSTART".into()));
        };
        let (first, last) = match start {
            When::Date(first) => {
                let end = match (self.end, self.duration) {
                    (Some((When::Date(end), _)), _) => Some(end),
                    (Some((When::DateTime(_), line)), _) => {
                        return Err(error(
                            line,
                            "DTEND must be a date, like its all-day DTSTART".into(),
                        ))
                    }
                    (None, Some((seconds, line))) => {
                        if seconds % 86_400 != 0 {
                            return Err(error(
                                line,
                                "DURATION of an all-day event must be whole days or weeks".into(),
                            ));
                        }
                        first.checked_add(Duration::days(seconds / 86_400))
                    }
                    (None, None) => None,
                };
                if end.is_some_and(|e| e < first) {
                    let line = self.end.map_or(start_line, |(_, l)| l);
                    return Err(error(line, "DTEND is before DTSTART".into()));
                }
                // DTEND is exclusive; an end on the start still means that one day.
                let last = end
                    .and_then(Date::previous_day)
                    .map_or(first, |l| l.max(first));
                (first, last)
            }
            When::DateTime(begin) => {
                let end = match (self.end, self.duration) {
                    (Some((When::DateTime(end), line)), _) => Some((end, line)),
                    (Some((When::Date(_), line)), _) => {
                        return Err(error(
                            line,
                            "DTEND must be a date-time, like its DTSTART".into(),
                        ))
                    }
                    (None, Some((seconds, line))) => begin
                        .checked_add(Duration::seconds(seconds))
                        .map(|e| (e, line)),
                    (None, None) => None,
                };
                if let Some((_, line)) = end.filter(|(end, _)| *end < begin) {
                    return Err(error(line, "DTEND is before DTSTART".into()));
                }
                // The end instant is exclusive: an event ending at midnight ends the day before.
                let last = end
                    .filter(|(end, _)| *end > begin)
                    .and_then(|(end, _)| end.checked_sub(Duration::milliseconds(1)))
                    .map_or(begin.date(), |e| e.date());
                (begin.date(), last)
            }
        };
        let span = (last - first).whole_days() + 1;
        if span > MAX_EVENT_DAYS {
            return Err(error(
                self.line,
                format!("this event lasts {span} days, from {first} to {last}; more than a year is surely a mistake"),
            ));
        }
        let mut days = Vec::new();
        let mut day = first;
        while day <= last {
            days.push(day);
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        Ok(days)
    }
}

/// A `DTSTART` or `DTEND` value: `20261225` (with or without `VALUE=DATE`),
/// `20261225T000000Z` (UTC) or `20261225T000000` (floating, taken as UTC).
fn when(property: &Property, line: usize) -> Result<When, IcsError> {
    let name = property.name.to_ascii_uppercase();
    let text = property.value.as_deref().unwrap_or_default().trim();
    let param = |key: &str| {
        property
            .params
            .iter()
            .flatten()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, values)| values.first())
    };
    let bad = |expected: &str| error(line, format!("{name} \"{text}\" is not {expected}"));
    let date_only = param("VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
    if date_only || text.len() == 8 {
        return date(text)
            .map(When::Date)
            .ok_or_else(|| bad("a date like 20261225"));
    }
    if let Some(zone) = param("TZID") {
        return Err(error(
            line,
            format!(
                "{name};TZID={zone}: times in a named time zone are not supported; write all-day \
                 dates ({name};VALUE=DATE:20261225) or UTC times ending in Z"
            ),
        ));
    }
    let local = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    let parsed = local.split_once(['T', 't']).and_then(|(d, t)| {
        let d = date(d)?;
        let number = |range: std::ops::Range<usize>| t.get(range)?.parse::<u8>().ok();
        if t.len() != 6 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let time = Time::from_hms(number(0..2)?, number(2..4)?, number(4..6)?).ok()?;
        Some(PrimitiveDateTime::new(d, time))
    });
    parsed
        .map(When::DateTime)
        .ok_or_else(|| bad("a date like 20261225 or a date-time like 20261225T000000Z"))
}

/// `YYYYMMDD` as a date.
fn date(text: &str) -> Option<Date> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = text.get(0..4)?.parse().ok()?;
    let month: u8 = text.get(4..6)?.parse().ok()?;
    let day: u8 = text.get(6..8)?.parse().ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

/// An RFC 5545 duration (`P1D`, `P2W`, `PT12H`, `P1DT6H30M`) in seconds; negative ones and
/// anything else are `None`.
fn duration_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    let rest = text
        .strip_prefix('+')
        .unwrap_or(text)
        .strip_prefix(['P', 'p'])?;
    if let Some(weeks) = rest.strip_suffix(['W', 'w']) {
        return weeks.parse::<i64>().ok()?.checked_mul(7 * 86_400);
    }
    let (date_part, time_part) = match rest.split_once(['T', 't']) {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut seconds: i64 = 0;
    if !date_part.is_empty() {
        let days = date_part.strip_suffix(['D', 'd'])?;
        seconds = days.parse::<i64>().ok()?.checked_mul(86_400)?;
    }
    if let Some(mut t) = time_part {
        for (unit, size) in [('H', 3600), ('M', 60), ('S', 1)] {
            if let Some(at) = t.find([unit, unit.to_ascii_lowercase()]) {
                let n: i64 = t.get(..at)?.parse().ok()?;
                seconds = seconds.checked_add(n.checked_mul(size)?)?;
                t = t.get(at + 1..)?;
            }
        }
        if !t.is_empty() {
            return None;
        }
    }
    (date_part.len() + time_part.map_or(0, str::len) > 0).then_some(seconds)
}

#[cfg(test)]
#[path = "holidays_tests.rs"]
mod tests;
