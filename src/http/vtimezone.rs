//! `VTIMEZONE` components (RFC 5545 section 3.6.5) for the zones of a calendar file's
//! sessions, worked out from the tz database of `chrono-tz`: an offset change is found by
//! scanning a year, and becomes a `STANDARD` or `DAYLIGHT` observance that repeats yearly
//! (`RRULE:FREQ=YEARLY;BYMONTH=…;BYDAY=…`) when the following years change on the same
//! weekday of the month, or is listed year by year otherwise. Observances start the year
//! before the session, so that every occurrence of it falls under one.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use crate::domain::zone::TimeZone as SessionZone;

/// Years after the first whose changes must follow a yearly rule for it to be written.
const RULE_CHECKED_YEARS: i32 = 3;

/// One change of a zone's offset.
#[derive(Debug, Clone, PartialEq)]
struct Change {
    /// The wall-clock time at which it happens, in the offset before it.
    local: NaiveDateTime,
    from_seconds: i32,
    to_seconds: i32,
    daylight: bool,
    name: String,
}

/// The `VTIMEZONE` of `zone` for sessions from `first_start` on, as lines ending in CRLF.
pub fn vtimezone(zone: SessionZone, first_start: DateTime<Utc>) -> String {
    let tz = zone.tz();
    let base_year = first_start.year() - 1;
    let changes = changes_in(tz, base_year);
    let mut lines = vec![
        "BEGIN:VTIMEZONE".to_owned(),
        format!("TZID:{}", zone.name()),
    ];
    if changes.is_empty() {
        let offset = tz.offset_from_utc_datetime(&year_start(base_year));
        let seconds = offset.fix().local_minus_utc();
        lines.extend(observance(&Change {
            local: year_start(1970),
            from_seconds: seconds,
            to_seconds: seconds,
            daylight: false,
            name: offset.abbreviation().unwrap_or_default().to_owned(),
        }));
    } else if let Some(rules) = yearly_rules(tz, base_year, &changes) {
        for (change, rule) in changes.iter().zip(rules) {
            let mut block = observance(change);
            block.insert(block.len() - 1, format!("RRULE:{rule}"));
            lines.extend(block);
        }
    } else {
        for year in base_year..=base_year + RULE_CHECKED_YEARS {
            for change in changes_in(tz, year) {
                lines.extend(observance(&change));
            }
        }
    }
    lines.push("END:VTIMEZONE".to_owned());
    lines.iter().map(|line| format!("{line}\r\n")).collect()
}

/// A `STANDARD` or `DAYLIGHT` block for `change`, without a rule.
fn observance(change: &Change) -> Vec<String> {
    let kind = if change.daylight {
        "DAYLIGHT"
    } else {
        "STANDARD"
    };
    let mut block = vec![
        format!("BEGIN:{kind}"),
        format!("DTSTART:{}", change.local.format("%Y%m%dT%H%M%S")),
        format!("TZOFFSETFROM:{}", utc_offset(change.from_seconds)),
        format!("TZOFFSETTO:{}", utc_offset(change.to_seconds)),
    ];
    // Abbreviations such as "+03" are numbers, not names: left out.
    if change
        .name
        .chars()
        .any(|character| character.is_ascii_alphabetic())
    {
        block.push(format!("TZNAME:{}", change.name));
    }
    block.push(format!("END:{kind}"));
    block
}

/// An RFC 5545 UTC-OFFSET: `+0100`, `-0500`, `+0530`, with seconds when there are any.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.abs();
    let (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if rest == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{rest:02}")
    }
}

fn year_start(year: i32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

/// The offset changes of `tz` during `year`, in order: found day by day, then to the
/// second by halving the day of the change.
fn changes_in(tz: Tz, year: i32) -> Vec<Change> {
    let offset_at = |instant: NaiveDateTime| {
        tz.offset_from_utc_datetime(&instant)
            .fix()
            .local_minus_utc()
    };
    let mut changes = Vec::new();
    let start = year_start(year);
    let end = year_start(year + 1);
    let mut day = start;
    while day < end {
        let next = day + Duration::days(1);
        if offset_at(day) != offset_at(next) {
            let (mut before, mut after) = (day, next);
            while after - before > Duration::seconds(1) {
                let middle = before + (after - before) / 2;
                if offset_at(middle) == offset_at(day) {
                    before = middle;
                } else {
                    after = middle;
                }
            }
            let from = tz.offset_from_utc_datetime(&before);
            let to = tz.offset_from_utc_datetime(&after);
            let from_seconds = from.fix().local_minus_utc();
            changes.push(Change {
                local: after + Duration::seconds(i64::from(from_seconds)),
                from_seconds,
                to_seconds: to.fix().local_minus_utc(),
                daylight: !to.dst_offset().is_zero(),
                name: to.abbreviation().unwrap_or_default().to_owned(),
            });
        }
        day = next;
    }
    changes
}

/// The yearly rule of each change (`FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU`), when the changes
/// of the following years happen on the same weekday of the month at the same time.
fn yearly_rules(tz: Tz, year: i32, changes: &[Change]) -> Option<Vec<String>> {
    let rules: Vec<(u32, i32, chrono::Weekday)> = changes
        .iter()
        .map(|change| {
            let day = change.local.date();
            (day.month(), week_of_month(day), day.weekday())
        })
        .collect();
    for later in year + 1..=year + RULE_CHECKED_YEARS {
        let found = changes_in(tz, later);
        if found.len() != changes.len() {
            return None;
        }
        for ((change, first), (month, week, weekday)) in found.iter().zip(changes).zip(&rules) {
            let day = change.local.date();
            let same_day =
                day.month() == *month && week_of_month(day) == *week && day.weekday() == *weekday;
            let same_change = change.local.time() == first.local.time()
                && change.from_seconds == first.from_seconds
                && change.to_seconds == first.to_seconds;
            if !same_day || !same_change {
                return None;
            }
        }
    }
    Some(
        rules
            .into_iter()
            .map(|(month, week, weekday)| {
                let weekday = match weekday {
                    chrono::Weekday::Mon => "MO",
                    chrono::Weekday::Tue => "TU",
                    chrono::Weekday::Wed => "WE",
                    chrono::Weekday::Thu => "TH",
                    chrono::Weekday::Fri => "FR",
                    chrono::Weekday::Sat => "SA",
                    chrono::Weekday::Sun => "SU",
                };
                format!("FREQ=YEARLY;BYMONTH={month};BYDAY={week}{weekday}")
            })
            .collect(),
    )
}

/// Which of its month's weekdays `day` is: 1 to 4, or -1 for the last.
fn week_of_month(day: NaiveDate) -> i32 {
    let days_in_month = NaiveDate::from_ymd_opt(day.year(), day.month(), 28)
        .map(|mut last| {
            while let Some(next) = last.succ_opt().filter(|next| next.month() == day.month()) {
                last = next;
            }
            last.day()
        })
        .unwrap_or(28);
    if day.day() + 7 > days_in_month {
        -1
    } else {
        ((day.day() - 1) / 7 + 1) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> SessionZone {
        name.parse().unwrap()
    }

    fn start(year: i32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, 6, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn berlin_changes_on_the_last_sundays_of_march_and_october() {
        let text = vtimezone(zone("Europe/Berlin"), start(2030));
        let expected = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n\
            BEGIN:DAYLIGHT\r\nDTSTART:20290325T020000\r\nTZOFFSETFROM:+0100\r\n\
            TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
            END:DAYLIGHT\r\n\
            BEGIN:STANDARD\r\nDTSTART:20291028T030000\r\nTZOFFSETFROM:+0200\r\n\
            TZOFFSETTO:+0100\r\nTZNAME:CET\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
            END:STANDARD\r\nEND:VTIMEZONE\r\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn new_york_changes_on_the_second_sunday_of_march_and_first_of_november() {
        let text = vtimezone(zone("America/New_York"), start(2030));
        assert!(
            text.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"),
            "{text}"
        );
        assert!(
            text.contains("RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU"),
            "{text}"
        );
        assert!(
            text.contains("TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400"),
            "{text}"
        );
        assert!(text.contains("DTSTART:20290311T020000"), "{text}");
    }

    #[test]
    fn a_zone_without_changes_has_one_standard_observance() {
        let text = vtimezone(zone("Asia/Kolkata"), start(2030));
        assert_eq!(
            text,
            "BEGIN:VTIMEZONE\r\nTZID:Asia/Kolkata\r\nBEGIN:STANDARD\r\n\
             DTSTART:19700101T000000\r\nTZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\n\
             TZNAME:IST\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        );
    }

    #[test]
    fn offsets_are_written_with_sign_hours_and_minutes() {
        assert_eq!(utc_offset(3600), "+0100");
        assert_eq!(utc_offset(-4 * 3600 - 30 * 60), "-0430");
        assert_eq!(utc_offset(0), "+0000");
        assert_eq!(utc_offset(3600 + 1), "+010001");
    }
}
