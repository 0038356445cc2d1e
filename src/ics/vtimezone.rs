//! `VTIMEZONE` components (RFC 5545 section 3.6.5) for the zones of a calendar file's
//! sessions, worked out from the tz database of `chrono-tz`. The offset changes of every
//! year from the one before the session to ten years past the later of its start and
//! now are found by scanning each year; runs of years that change on the same weekday of
//! the same weeks of the month (the last Sunday of March; the second Sunday; the Friday
//! between the 23rd and the 29th) become `STANDARD` or `DAYLIGHT` observances that repeat
//! yearly (`RRULE:FREQ=YEARLY;…`), ending (`UNTIL`) where the run ends; years that follow
//! no such rule are listed on their own. After a zone's last change its last offset
//! holds, so a zone that gave up daylight saving keeps its final offset.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetName, Tz};

use crate::domain::zone::TimeZone as SessionZone;

/// Years after the later of the session's start and now that the observances cover.
const HORIZON_YEARS: i32 = 10;

/// One change of a zone's offset.
#[derive(Debug, Clone, PartialEq)]
struct Change {
    /// The wall-clock time at which it happens, in the offset before it.
    local: NaiveDateTime,
    /// The same moment, in UTC.
    instant: NaiveDateTime,
    from_seconds: i32,
    to_seconds: i32,
    name: String,
}

impl Change {
    /// Clocks go forward: daylight saving begins. (Zones whose daylight saving is in
    /// winter, such as Europe/Dublin in the tz database, still read as summer time.)
    fn is_daylight(&self) -> bool {
        self.to_seconds > self.from_seconds
    }

    /// What two years' changes must share to follow one yearly rule: all but the day.
    fn shape(&self) -> (u32, chrono::Weekday, chrono::NaiveTime, i32, i32) {
        let day = self.local.date();
        (
            day.month(),
            day.weekday(),
            self.local.time(),
            self.from_seconds,
            self.to_seconds,
        )
    }
}

/// Consecutive years whose changes follow one yearly rule each.
struct Run {
    /// The changes of each year of the run, in order.
    years: Vec<Vec<Change>>,
}

impl Run {
    /// Whether `changes` (of the next year) follow the same rules.
    fn admits(&self, changes: &[Change]) -> bool {
        let first = &self.years[0];
        first.len() == changes.len()
            && first
                .iter()
                .zip(changes)
                .enumerate()
                .all(|(index, (earlier, later))| {
                    let mut days = self.days_of(index);
                    days.push(later.local.date());
                    earlier.shape() == later.shape() && day_rule(&days).is_some()
                })
    }

    /// The dates of change `index` in every year of the run.
    fn days_of(&self, index: usize) -> Vec<NaiveDate> {
        self.years
            .iter()
            .map(|changes| changes[index].local.date())
            .collect()
    }
}

/// The `VTIMEZONE` of `zone` for sessions from `first_start` on, as lines ending in CRLF.
pub fn vtimezone(zone: SessionZone, first_start: DateTime<Utc>) -> String {
    let tz = zone.tz();
    let base_year = first_start.year() - 1;
    let last_year = first_start.year().max(Utc::now().year()) + HORIZON_YEARS;
    let mut lines = vec![
        "BEGIN:VTIMEZONE".to_owned(),
        format!("TZID:{}", zone.name()),
    ];
    let mut runs: Vec<Run> = Vec::new();
    // Whether the last run goes on to the horizon (no year without changes since).
    let mut open = false;
    for year in base_year..=last_year {
        let changes = changes_in(tz, year);
        if changes.is_empty() {
            open = false;
            continue;
        }
        match runs.last_mut() {
            Some(run) if open && run.admits(&changes) => run.years.push(changes),
            _ => {
                runs.push(Run {
                    years: vec![changes],
                });
                open = true;
            }
        }
    }
    if runs.is_empty() {
        let offset = tz.offset_from_utc_datetime(&year_start(base_year));
        let seconds = offset.fix().local_minus_utc();
        lines.extend(observance(
            &Change {
                local: year_start(1970),
                instant: year_start(1970),
                from_seconds: seconds,
                to_seconds: seconds,
                name: offset.abbreviation().unwrap_or_default().to_owned(),
            },
            None,
        ));
    }
    let last_run = runs.len().saturating_sub(1);
    for (number, run) in runs.iter().enumerate() {
        let first = &run.years[0];
        if run.years.len() == 1 {
            for change in first {
                lines.extend(observance(change, None));
            }
            continue;
        }
        // The last run, still going at the horizon, repeats without end.
        let ends = run.years.last().filter(|_| number != last_run || !open);
        for (index, change) in first.iter().enumerate() {
            let mut rule = format!(
                "FREQ=YEARLY;BYMONTH={};{}",
                change.local.month(),
                day_rule(&run.days_of(index)).unwrap_or_default()
            );
            if let Some(last) = ends {
                rule.push_str(&format!(
                    ";UNTIL={}",
                    last[index].instant.format("%Y%m%dT%H%M%SZ")
                ));
            }
            lines.extend(observance(change, Some(&rule)));
        }
    }
    lines.push("END:VTIMEZONE".to_owned());
    lines.iter().map(|line| format!("{line}\r\n")).collect()
}

/// The RRULE day parts that pick each of `days` (one date a year, all on one weekday of
/// one month): `BYDAY=-1SU` (the last), `BYDAY=2SU` (the second), or a weekday within
/// seven days (`BYDAY=FR;BYMONTHDAY=23,24,25,26,27,28,29`); `None` when no such rule
/// picks them all.
fn day_rule(days: &[NaiveDate]) -> Option<String> {
    let first = days.first()?;
    let weekday = ical_weekday(first.weekday());
    if days.iter().all(|day| day.day() + 7 > days_in_month(*day)) {
        return Some(format!("BYDAY=-1{weekday}"));
    }
    let week = (first.day() - 1) / 7 + 1;
    if week <= 4 && days.iter().all(|day| (day.day() - 1) / 7 + 1 == week) {
        return Some(format!("BYDAY={week}{weekday}"));
    }
    let low = days.iter().map(Datelike::day).min()?;
    let high = days.iter().map(Datelike::day).max()?;
    if high - low > 6 {
        return None;
    }
    // The seven days from the earliest date seen hold every date seen.
    let window: Vec<String> = (low..low + 7).map(|day| day.to_string()).collect();
    Some(format!("BYDAY={weekday};BYMONTHDAY={}", window.join(",")))
}

fn ical_weekday(weekday: chrono::Weekday) -> &'static str {
    match weekday {
        chrono::Weekday::Mon => "MO",
        chrono::Weekday::Tue => "TU",
        chrono::Weekday::Wed => "WE",
        chrono::Weekday::Thu => "TH",
        chrono::Weekday::Fri => "FR",
        chrono::Weekday::Sat => "SA",
        chrono::Weekday::Sun => "SU",
    }
}

fn days_in_month(day: NaiveDate) -> u32 {
    let next_month = if day.month() == 12 {
        NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
    };
    next_month
        .and_then(|next| next.pred_opt())
        .map_or(28, |last| last.day())
}

/// A `STANDARD` or `DAYLIGHT` block for `change`, repeating by `rule` when given.
fn observance(change: &Change, rule: Option<&str>) -> Vec<String> {
    let kind = if change.is_daylight() {
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
    if let Some(rule) = rule {
        block.push(format!("RRULE:{rule}"));
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
    let end = year_start(year + 1);
    let mut day = year_start(year);
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
            let from_seconds = offset_at(before);
            let to = tz.offset_from_utc_datetime(&after);
            changes.push(Change {
                local: after + Duration::seconds(i64::from(from_seconds)),
                instant: after,
                from_seconds,
                to_seconds: to.fix().local_minus_utc(),
                name: to.abbreviation().unwrap_or_default().to_owned(),
            });
        }
        day = next;
    }
    changes
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

    /// The UTC offset the observances of `text` give at each instant: an independent
    /// reading of the `VTIMEZONE`, expanding each observance's rule with the `rrule` crate.
    fn offsets_read_from(text: &str) -> impl Fn(NaiveDateTime) -> i32 {
        let seconds = |offset: &str| {
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let digits = &offset[1..];
            let hours: i32 = digits[0..2].parse().unwrap();
            let minutes: i32 = digits[2..4].parse().unwrap();
            sign * (hours * 3600 + minutes * 60)
        };
        let mut onsets: Vec<(NaiveDateTime, i32, i32)> = Vec::new();
        for block in text.split("BEGIN:").skip(2) {
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|line| line.strip_prefix(&format!("{name}:")))
                    .map(|value| value.trim_end().to_owned())
            };
            let local =
                NaiveDateTime::parse_from_str(&field("DTSTART").unwrap(), "%Y%m%dT%H%M%S").unwrap();
            let from = seconds(&field("TZOFFSETFROM").unwrap());
            let to = seconds(&field("TZOFFSETTO").unwrap());
            let Some(rule) = field("RRULE") else {
                onsets.push((local - Duration::seconds(i64::from(from)), from, to));
                continue;
            };
            let until = rule
                .split(';')
                .find_map(|part| part.strip_prefix("UNTIL="))
                .map(|until| NaiveDateTime::parse_from_str(until, "%Y%m%dT%H%M%SZ").unwrap());
            let rule: String = rule
                .split(';')
                .filter(|part| !part.starts_with("UNTIL="))
                .collect::<Vec<_>>()
                .join(";");
            let rule: rrule::RRule<rrule::Unvalidated> = rule.parse().unwrap();
            let start = rrule::Tz::UTC.from_utc_datetime(&local);
            for occurrence in rule.build(start).unwrap().into_iter().take(200) {
                let instant = occurrence.naive_utc() - Duration::seconds(i64::from(from));
                if until.is_some_and(|until| instant > until) || instant.year() > 2060 {
                    break;
                }
                onsets.push((instant, from, to));
            }
        }
        onsets.sort_by_key(|onset| onset.0);
        move |instant| match onsets.iter().rev().find(|onset| onset.0 <= instant) {
            Some(onset) => onset.2,
            None => onsets.first().map_or(0, |onset| onset.1),
        }
    }

    #[test]
    fn the_observances_give_the_tz_databases_offsets_over_the_years() {
        let zones = [
            ("Europe/Berlin", 2030),
            ("America/New_York", 2030),
            ("Australia/Sydney", 2030),
            ("Australia/Lord_Howe", 2030),
            ("America/Mexico_City", 2020),
            ("America/Sao_Paulo", 2016),
            ("Asia/Jerusalem", 2030),
            ("America/Santiago", 2030),
            ("Africa/Casablanca", 2030),
            ("Europe/Dublin", 2030),
            ("Asia/Kolkata", 2030),
        ];
        for (name, year) in zones {
            let text = vtimezone(zone(name), start(year));
            let offset_of = offsets_read_from(&text);
            let tz: Tz = name.parse().unwrap();
            let until = year_start(Utc::now().year().max(year) + HORIZON_YEARS);
            let mut instant = year_start(year);
            while instant < until {
                let expected = tz
                    .offset_from_utc_datetime(&instant)
                    .fix()
                    .local_minus_utc();
                assert_eq!(offset_of(instant), expected, "{name} at {instant}:\n{text}");
                instant += Duration::hours(3);
            }
        }
    }

    #[test]
    fn a_zone_that_gave_up_daylight_saving_ends_its_rules() {
        let text = vtimezone(zone("America/Mexico_City"), start(2020));
        assert!(
            text.contains("RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=2022"),
            "{text}"
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
