//! When a session happens: its single occurrence, or its repetitions — weekly at the same
//! weekday and wall-clock time in the session's time zone (`isRecurring`; UTC unless the
//! session names a `timeZone`), or by an RFC 5545 RRULE (`recurrence`) in that zone, until
//! the event's end when the session belongs to an event. A weekly 09:00 `Europe/Berlin`
//! session is at 08:00 UTC in winter and 07:00 UTC in summer.
//!
//! Rules are bounded when written (at most one occurrence a day, the first within
//! [`MAX_FIRST_OCCURRENCE_DAYS`] of the start, at most [`MAX_COUNT`] occurrences with a
//! `COUNT`), and finding the current or next occurrence costs the same however long ago
//! the session started: a rule without a `COUNT` is walked from a start moved forward by
//! whole periods to just before now, which leaves its occurrences unchanged; a rule with a
//! `COUNT` has at most [`MAX_COUNT`] of them.

use chrono::{
    DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, SubsecRound, TimeZone as _, Utc,
};
use rrule::{Frequency, NWeekday, RRule, RRuleSet, Tz, Unvalidated};

use super::zone::TimeZone;

/// The RRULE parts a session's `recurrence` may use.
const ALLOWED_PARTS: [&str; 8] = [
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "WKST",
];

/// Longest accepted `recurrence` text.
pub const MAX_RULE_CHARS: usize = 500;
/// Latest first occurrence of a rule, in days after the session's start: a rule that would
/// first occur later (or never, such as `BYMONTH=2;BYMONTHDAY=30`) is refused.
pub const MAX_FIRST_OCCURRENCE_DAYS: i64 = 366;
/// Most occurrences of a rule with a `COUNT`.
pub const MAX_COUNT: u32 = 1000;
/// Days after the start of a walk within which some day must pass a rule's filters for
/// the walk to be tried: four years and a day hold a 29 February.
const CANDIDATE_WINDOW_DAYS: i64 = 4 * 366;

/// Longest span of a rule with a `COUNT`, in its periods (days, weeks, months or years
/// times its `INTERVAL`): a counted rule must have all its occurrences within it.
pub const MAX_COUNTED_SPAN_PERIODS: u32 = 4000;

/// A parsed `recurrence` value, not yet anchored to a start.
#[derive(Debug, Clone)]
pub struct Rule(RRule<Unvalidated>, String);

impl Rule {
    /// Parses an RRULE value such as `FREQ=DAILY;COUNT=5` (an `RRULE:` prefix is accepted).
    /// Sessions repeat at most daily: finer frequencies are refused.
    pub fn parse(text: &str) -> Result<Rule, String> {
        if text.chars().count() > MAX_RULE_CHARS {
            return Err(format!("must be at most {MAX_RULE_CHARS} characters long"));
        }
        if text.contains(['\n', '\r']) {
            return Err("must be a single RRULE value".to_owned());
        }
        let value = text.strip_prefix("RRULE:").unwrap_or(text);
        // At most one occurrence a day: finer parts would let one session cost the server
        // an occurrence per second of its history.
        for part in value.split(';') {
            let name = part.split('=').next().unwrap_or_default();
            if !ALLOWED_PARTS.contains(&name.to_ascii_uppercase().as_str()) {
                return Err(format!(
                    "{name} is not supported; a recurrence uses {}",
                    ALLOWED_PARTS.join(", ")
                ));
            }
        }
        // With a start in UTC, RFC 5545 wants UNTIL in UTC too; calendar apps read any other
        // form in their own time zone.
        if let Some(until) = value
            .split(';')
            .find_map(|part| part.strip_prefix("UNTIL="))
            && !until.ends_with('Z')
        {
            return Err("UNTIL must be a UTC date-time such as 20991231T235959Z".to_owned());
        }
        let rule: RRule<Unvalidated> = value
            .parse()
            .map_err(|error| format!("not a valid RRULE: {error}"))?;
        let frequency = rule.get_freq();
        if matches!(
            frequency,
            Frequency::Hourly | Frequency::Minutely | Frequency::Secondly
        ) {
            return Err(
                "sessions repeat at most daily (FREQ=DAILY, WEEKLY, MONTHLY or YEARLY)".to_owned(),
            );
        }
        if rule.get_count().is_some_and(|count| count > MAX_COUNT) {
            return Err(format!("COUNT must be at most {MAX_COUNT}"));
        }
        Ok(Rule(rule, value.to_owned()))
    }
}

/// The RRULE value of a recurring session for a calendar file: its `recurrence`, or the
/// weekly rule, ending as its [`Schedule`] ends. `None` when the session does not repeat
/// because its event ends before it starts.
pub fn calendar_rule(
    recurrence: Option<&str>,
    start: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Option<String> {
    if until.is_some_and(|until| until < start) {
        return None;
    }
    let text = recurrence
        .map(|text| text.strip_prefix("RRULE:").unwrap_or(text))
        .unwrap_or("FREQ=WEEKLY");
    let rule = match recurrence {
        Some(text) => Rule::parse(text).ok()?,
        None => Rule(RRule::new(Frequency::Weekly), "FREQ=WEEKLY".to_owned()),
    };
    Some(match imposed_until(&rule.0, until) {
        Some(until) => {
            let kept = text
                .split(';')
                .filter(|part| !part.to_ascii_uppercase().starts_with("UNTIL="));
            let mut parts: Vec<String> = kept.map(str::to_owned).collect();
            parts.push(format!("UNTIL={}", until.format("%Y%m%dT%H%M%SZ")));
            parts.join(";")
        }
        None => text.to_owned(),
    })
}

/// The end that the event's end imposes on a rule: none when the rule counts its
/// occurrences or already ends earlier.
fn imposed_until(rule: &RRule<Unvalidated>, until: Option<DateTime<Utc>>) -> Option<DateTime<Tz>> {
    let until = until?.with_timezone(&Tz::UTC);
    (rule.get_count().is_none() && rule.get_until().is_none_or(|own| *own > until)).then_some(until)
}

/// When a session takes place.
#[derive(Debug, Clone)]
pub struct Schedule {
    start: DateTime<Utc>,
    duration: Duration,
    repetitions: Option<Repetitions>,
}

/// A recurring session's rule, anchored at the whole second of its start.
#[derive(Debug, Clone)]
struct Repetitions {
    rule: RRule<Unvalidated>,
    /// The rule as written (`FREQ=WEEKLY` for the weekly default).
    text: String,
    /// The start without its fraction of a second: rules work in whole seconds.
    anchor: DateTime<Utc>,
    /// The zone whose wall-clock time the rule keeps.
    zone: Tz,
}

impl Schedule {
    /// A schedule starting at `start`, each occurrence lasting `duration_seconds`.
    /// `repeats` is `None` for a single occurrence, `Some(None)` for weekly repetition, and
    /// `Some(Some(rule))` for a custom rule, repeating at the wall-clock time of `start` in
    /// `zone`. Repetitions stop at `until` when given.
    pub fn new(
        start: DateTime<Utc>,
        duration_seconds: i64,
        repeats: Option<Option<&Rule>>,
        until: Option<DateTime<Utc>>,
        zone: TimeZone,
    ) -> Result<Schedule, String> {
        let duration = Duration::seconds(duration_seconds);
        // An event that ends before the session starts leaves only the first occurrence.
        let repeats = repeats.filter(|_| until.is_none_or(|until| until >= start));
        let Some(rule) = repeats else {
            return Ok(Schedule {
                start,
                duration,
                repetitions: None,
            });
        };
        let (mut rule, text) = match rule {
            Some(Rule(rule, text)) => (rule.clone(), text.clone()),
            None => (RRule::new(Frequency::Weekly), "FREQ=WEEKLY".to_owned()),
        };
        if let Some(until) = imposed_until(&rule, until) {
            rule = rule.until(until);
        }
        let anchor = start.trunc_subsecs(0);
        let zone = if zone.is_utc() {
            Tz::UTC
        } else {
            Tz::Tz(zone.tz())
        };
        let repetitions = Repetitions {
            rule,
            text,
            anchor,
            zone,
        };
        // Refuses a rule the library cannot build from this start.
        drop(repetitions.occurrences_from(anchor)?);
        Ok(Schedule {
            start,
            duration,
            repetitions: Some(repetitions),
        })
    }

    /// The checks of a rule being written: its first occurrence lies within
    /// [`MAX_FIRST_OCCURRENCE_DAYS`] of the start, and a rule with a `COUNT` has all its
    /// occurrences within [`MAX_COUNTED_SPAN_PERIODS`] of its periods. (Repetition cut
    /// short by an event that ends earlier is no fault of the rule.) Each check walks a
    /// bounded stretch of the rule.
    pub fn check_bounds(&self) -> Result<(), String> {
        let Some(repetitions) = &self.repetitions else {
            return Ok(());
        };
        let horizon = repetitions.anchor + Duration::days(MAX_FIRST_OCCURRENCE_DAYS);
        let cut_short = repetitions
            .rule
            .get_until()
            .is_some_and(|until| until.with_timezone(&Utc) < horizon);
        // A rule that no day of the horizon could satisfy is refused before the library
        // walks it: the library would walk up to its own limit, some hundred thousand steps.
        if !cut_short
            && !repetitions.has_candidate_day(repetitions.anchor, MAX_FIRST_OCCURRENCE_DAYS)
        {
            return Err(format!(
                "the first occurrence must be within {MAX_FIRST_OCCURRENCE_DAYS} days of startDate"
            ));
        }
        let first = match repetitions.rule.get_count() {
            // UNTIL and COUNT exclude each other: a counted rule is walked as it is, up to
            // its first occurrence after the horizon at most.
            Some(_) => repetitions
                .occurrences_from(repetitions.anchor)?
                .take_while(|start| *start <= horizon)
                .next(),
            // Walked with an end at the horizon, so that a rule that never occurs costs a
            // bounded walk.
            None => repetitions
                .expand(
                    repetitions
                        .rule
                        .clone()
                        .until(horizon.with_timezone(&Tz::UTC)),
                    repetitions.anchor,
                )?
                .next(),
        };
        if first.is_none() && !cut_short {
            return Err(format!(
                "the first occurrence must be within {MAX_FIRST_OCCURRENCE_DAYS} days of startDate"
            ));
        }
        if let Some(count) = repetitions.rule.get_count() {
            let span_end = repetitions.span_end(MAX_COUNTED_SPAN_PERIODS);
            let within = repetitions
                .occurrences_from(repetitions.anchor)?
                .take_while(|start| *start <= span_end)
                .count();
            if within < count as usize {
                return Err(format!(
                    "a recurrence with COUNT must have all its occurrences within \
                     {MAX_COUNTED_SPAN_PERIODS} repetitions of its FREQ; use UNTIL for sparser rules"
                ));
            }
        }
        Ok(())
    }

    /// The same schedule, told when its last occurrence ends (stored when it was written):
    /// a rule with a `COUNT` then walks as the same rule ending at its last occurrence,
    /// from a start near now, instead of counting from its first occurrence.
    pub fn knowing_last_end(mut self, last_end: Option<DateTime<Utc>>) -> Schedule {
        let offset = self.start - self.start.trunc_subsecs(0);
        let (Some(last_end), Some(repetitions)) = (last_end, self.repetitions.as_mut()) else {
            return self;
        };
        if repetitions.rule.get_count().is_none() {
            return self;
        }
        let last_start = (last_end - self.duration - offset).trunc_subsecs(0);
        let mut parts: Vec<String> = repetitions
            .text
            .split(';')
            .filter(|part| !part.to_ascii_uppercase().starts_with("COUNT="))
            .map(str::to_owned)
            .collect();
        parts.push(format!("UNTIL={}", last_start.format("%Y%m%dT%H%M%SZ")));
        if let Ok(rule) = parts.join(";").parse::<RRule<Unvalidated>>() {
            repetitions.rule = rule;
        }
        self
    }

    /// The start of the occurrence that is under way at `now`, or else the next one;
    /// `None` when every occurrence has ended.
    pub fn current_or_next(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let not_ended = |start: &DateTime<Utc>| *start + self.duration > now;
        let Some(repetitions) = &self.repetitions else {
            return Some(self.start).filter(not_ended);
        };
        let offset = self.start - repetitions.anchor;
        let from = repetitions.walk_start(now - self.duration - offset);
        // A rule no day could satisfy for years (written before such rules were refused)
        // has no next occurrence worth the library's long walk.
        if !repetitions.has_candidate_day(from, CANDIDATE_WINDOW_DAYS) {
            return None;
        }
        repetitions
            .occurrences_from(from)
            .ok()?
            .map(|start| start + offset)
            .find(not_ended)
    }

    /// When the last occurrence ends; `None` when the session repeats without end. A rule
    /// that ends at a date-time is taken to end with an occurrence then when its last one
    /// cannot be found within a few periods before it (an estimate on the late side).
    pub fn last_end(&self) -> Option<DateTime<Utc>> {
        let Some(repetitions) = &self.repetitions else {
            return Some(self.start + self.duration);
        };
        let offset = self.start - repetitions.anchor;
        let last_start = match (repetitions.rule.get_count(), repetitions.rule.get_until()) {
            (Some(_), _) => repetitions
                .occurrences_from(repetitions.anchor)
                .ok()?
                .last(),
            (None, Some(until)) => {
                let until = until.with_timezone(&Utc);
                let from = repetitions.walk_start(until);
                let found = repetitions
                    .occurrences_from(from)
                    .ok()?
                    .take_while(|start| *start <= until)
                    .last();
                Some(found.unwrap_or(until))
            }
            (None, None) => return None,
        };
        Some(last_start.unwrap_or(repetitions.anchor) + offset + self.duration)
    }

    /// When the occurrence starting at `start` ends.
    pub fn end_of(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        start + self.duration
    }

    /// Whether the occurrence starting at `start` is under way at `now`.
    pub fn is_ongoing(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        start <= now && now < start + self.duration
    }
}

/// The number of days in `day`'s month.
fn days_in_month(day: NaiveDate) -> i32 {
    let first = day.with_day(1).unwrap_or(day);
    let next = first
        .checked_add_months(Months::new(1))
        .unwrap_or(NaiveDate::MAX);
    (next - first).num_days() as i32
}

/// One period of a rule: whole days or whole months.
enum Period {
    Days(i64),
    Months(u32),
}

impl Repetitions {
    /// The rule's occurrences, walked from `from`: the anchor itself or a start moved
    /// forward by whole periods (see [`Repetitions::walk_start`]).
    fn occurrences_from(
        &self,
        from: DateTime<Utc>,
    ) -> Result<impl Iterator<Item = DateTime<Utc>> + '_, String> {
        let rule = if from == self.anchor {
            self.rule.clone()
        } else {
            self.with_implied_days()
        };
        self.expand(rule, from)
    }

    /// The occurrences of `rule` from `from`, worked out on the zone's wall-clock time
    /// (as if it were UTC, so that the library neither drops nor doubles a local time at a
    /// daylight-saving change), each then placed in the zone as RFC 5545 says: a time the
    /// clocks skip takes the offset before the change, a repeated time its first instant.
    fn expand(
        &self,
        rule: RRule<Unvalidated>,
        from: DateTime<Utc>,
    ) -> Result<impl Iterator<Item = DateTime<Utc>> + '_, String> {
        let rule = match rule.get_until() {
            Some(until) if self.zone != Tz::UTC => {
                let local = until.with_timezone(&self.zone).naive_local();
                rule.until(Tz::UTC.from_utc_datetime(&local))
            }
            _ => rule,
        };
        let local_start = Tz::UTC.from_utc_datetime(&self.local_of(from));
        let set: RRuleSet = rule
            .build(local_start)
            .map_err(|error| format!("not a valid RRULE: {error}"))?;
        Ok(set
            .into_iter()
            .map(move |local| self.placed(local.naive_utc())))
    }

    /// The wall-clock time of `instant` in the zone.
    fn local_of(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        instant.with_timezone(&self.zone).naive_local()
    }

    /// Wall-clock time `local` placed in the zone: its first instant, or, when the clocks
    /// skip it, the instant it would be with the offset before the change.
    fn placed(&self, local: NaiveDateTime) -> DateTime<Utc> {
        if let Some(instant) = self.instant_of(local) {
            return instant;
        }
        let day_before = self.zone.from_utc_datetime(&(local - Duration::days(1)));
        let offset_before = day_before.naive_local() - day_before.naive_utc();
        Utc.from_utc_datetime(&(local - offset_before))
    }

    /// The anchor's wall-clock time in the zone.
    fn local_anchor(&self) -> NaiveDateTime {
        self.local_of(self.anchor)
    }

    /// The instant of wall-clock time `local` in the zone (the earlier one when a
    /// daylight-saving change repeats it); `None` when a change skips it.
    fn instant_of(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        self.zone
            .from_local_datetime(&local)
            .earliest()
            .map(|instant| instant.with_timezone(&Utc))
    }

    /// The anchor moved forward by `period` of wall-clock time, `times` times; `None` when
    /// that time does not exist in the zone or the calendar.
    fn anchor_after(&self, period: &Period, times: i64) -> Option<DateTime<Utc>> {
        let local = self.local_anchor();
        let moved = match period {
            Period::Days(days) => {
                local.checked_add_signed(Duration::days(days.checked_mul(times)?))
            }
            Period::Months(months) => local
                .checked_add_months(Months::new(months.checked_mul(u32::try_from(times).ok()?)?)),
        }?;
        self.instant_of(moved)
    }

    /// Where to walk the rule from to find the occurrences after `after`: for a rule
    /// without a `COUNT`, the anchor moved forward by whole periods to at least one period
    /// before `after` (the occurrences after that point stay the same); otherwise the
    /// anchor.
    fn walk_start(&self, after: DateTime<Utc>) -> DateTime<Utc> {
        if self.rule.get_count().is_some() || after <= self.anchor {
            return self.anchor;
        }
        let interval = i64::from(self.rule.get_interval().max(1));
        let period = match self.rule.get_freq() {
            Frequency::Daily => Period::Days(interval),
            Frequency::Weekly => Period::Days(7 * interval),
            Frequency::Monthly => Period::Months(interval as u32),
            Frequency::Yearly => Period::Months(12 * interval as u32),
            // Refused when parsed.
            _ => return self.anchor,
        };
        let periods = match period {
            Period::Days(days) => (after - self.anchor).num_days() / days - 1,
            Period::Months(months) => {
                let elapsed = (after.year() - self.anchor.year()) * 12 + after.month() as i32
                    - self.anchor.month() as i32;
                i64::from(elapsed / months as i32 - 1)
            }
        };
        if periods <= 0 {
            return self.anchor;
        }
        // A wall-clock time that a daylight-saving change skips on that day: one period
        // earlier does not fall on the same change.
        self.anchor_after(&period, periods)
            .or_else(|| self.anchor_after(&period, periods - 1))
            .unwrap_or(self.anchor)
    }

    /// Whether some day from `from` on, within `days`, passes the rule's filters on month,
    /// day of the month and weekday (ordinals and `INTERVAL` aside, days implied by the
    /// start included): a walk of plain days, cheap next to the library's walk, that stops
    /// rules which can never occur (`BYMONTH=2;BYMONTHDAY=30`).
    fn has_candidate_day(&self, from: DateTime<Utc>, days: i64) -> bool {
        let rule = self.with_implied_days();
        let months = rule.get_by_month();
        let month_days = rule.get_by_month_day();
        let weekdays: Vec<chrono::Weekday> = rule
            .get_by_weekday()
            .iter()
            .map(|weekday| match weekday {
                NWeekday::Every(weekday) | NWeekday::Nth(_, weekday) => *weekday,
            })
            .collect();
        let mut day = from.with_timezone(&self.zone).date_naive();
        for _ in 0..=days {
            let length = days_in_month(day);
            let month_day = |wanted: &i8| {
                let wanted = i32::from(*wanted);
                let from_end = length + 1 + wanted;
                day.day() as i32 == if wanted < 0 { from_end } else { wanted }
            };
            if (months.is_empty() || months.contains(&(day.month() as u8)))
                && (month_days.is_empty() || month_days.iter().any(month_day))
                && (weekdays.is_empty() || weekdays.contains(&day.weekday()))
            {
                return true;
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => return false,
            }
        }
        false
    }

    /// The end of `periods` of the rule's periods after the anchor.
    fn span_end(&self, periods: u32) -> DateTime<Utc> {
        let interval = u32::from(self.rule.get_interval().max(1));
        let periods = i64::from(periods.saturating_mul(interval));
        let period = match self.rule.get_freq() {
            Frequency::Daily => Period::Days(1),
            Frequency::Weekly => Period::Days(7),
            Frequency::Monthly => Period::Months(1),
            Frequency::Yearly => Period::Months(12),
            _ => return self.anchor,
        };
        // Out of the calendar's range, or skipped by a daylight-saving change: no end errs
        // on the side of accepting.
        self.anchor_after(&period, periods)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The rule with the days it takes from its start made explicit, so that it keeps
    /// them when walked from another start: a monthly rule without days repeats on the
    /// start's day of the month, a yearly one on the start's day and month.
    fn with_implied_days(&self) -> RRule<Unvalidated> {
        let rule = self.rule.clone();
        let has_days = !rule.get_by_month_day().is_empty() || !rule.get_by_weekday().is_empty();
        let start = self.local_anchor();
        match rule.get_freq() {
            Frequency::Monthly if !has_days => rule.by_month_day(vec![start.day() as i8]),
            Frequency::Yearly if !has_days => {
                let rule = rule.by_month_day(vec![start.day() as i8]);
                if rule.get_by_month().is_empty() {
                    match chrono::Month::try_from(start.month() as u8) {
                        Ok(month) => rule.by_month(&[month]),
                        Err(_) => rule,
                    }
                } else {
                    rule
                }
            }
            _ => rule,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instant `y-m-d h:00:00Z`.
    pub(super) fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn a_single_session_is_current_until_it_ends() {
        let schedule = Schedule::new(at(2030, 1, 7, 10), 3600, None, None, TimeZone::UTC).unwrap();
        assert_eq!(
            schedule.current_or_next(at(2030, 1, 1, 0)),
            Some(at(2030, 1, 7, 10))
        );
        assert_eq!(
            schedule.current_or_next(at(2030, 1, 7, 10) + Duration::minutes(59)),
            Some(at(2030, 1, 7, 10))
        );
        assert_eq!(schedule.current_or_next(at(2030, 1, 7, 11)), None);
    }

    /// A weekly session at 09:00 local time in `zone`, from the Monday 2030-01-07.
    fn weekly_at_nine(zone: &str, utc_hour: u32) -> Schedule {
        let zone: TimeZone = zone.parse().unwrap();
        Schedule::new(at(2030, 1, 7, utc_hour), 3600, Some(None), None, zone).unwrap()
    }

    #[test]
    fn a_weekly_berlin_session_keeps_nine_oclock_across_daylight_saving() {
        // 09:00 CET is 08:00 UTC; 09:00 CEST (from 2030-03-31) is 07:00 UTC.
        let schedule = weekly_at_nine("Europe/Berlin", 8);
        assert_eq!(
            schedule.current_or_next(at(2030, 3, 20, 0)),
            Some(at(2030, 3, 25, 8))
        );
        assert_eq!(
            schedule.current_or_next(at(2030, 3, 26, 0)),
            Some(at(2030, 4, 1, 7))
        );
        // Back to 08:00 UTC after 2030-10-27, and still right ten years on (the walk
        // starts near now, in local time).
        assert_eq!(
            schedule.current_or_next(at(2030, 10, 28, 0)),
            Some(at(2030, 10, 28, 8))
        );
        assert_eq!(
            schedule.current_or_next(at(2040, 7, 1, 0)),
            Some(at(2040, 7, 2, 7))
        );
        assert_eq!(
            schedule.current_or_next(at(2041, 1, 1, 0)),
            Some(at(2041, 1, 7, 8))
        );
    }

    #[test]
    fn a_weekly_new_york_session_follows_the_us_changes() {
        // 09:00 EST is 14:00 UTC; 09:00 EDT (2030-03-10 to 2030-11-03) is 13:00 UTC.
        let schedule = weekly_at_nine("America/New_York", 14);
        assert_eq!(
            schedule.current_or_next(at(2030, 3, 5, 0)),
            Some(at(2030, 3, 11, 13))
        );
        assert_eq!(
            schedule.current_or_next(at(2030, 10, 29, 0)),
            Some(at(2030, 11, 4, 14))
        );
    }

    #[test]
    fn a_daily_rule_keeps_local_time_over_the_change_night() {
        let rule = Rule::parse("FREQ=DAILY;COUNT=3").unwrap();
        let berlin: TimeZone = "Europe/Berlin".parse().unwrap();
        let schedule =
            Schedule::new(at(2030, 3, 30, 8), 3600, Some(Some(&rule)), None, berlin).unwrap();
        assert_eq!(
            schedule.current_or_next(at(2030, 3, 30, 10)),
            Some(at(2030, 3, 31, 7))
        );
        assert_eq!(schedule.last_end(), Some(at(2030, 4, 1, 8)));
    }

    #[test]
    fn a_time_the_clocks_skip_takes_the_offset_before_the_change() {
        // Santiago moves from -04 to -03 at midnight on 2030-09-08: 00:30 does not exist
        // that night, and the weekly 00:30 session is at 04:30 UTC (01:30 -03).
        let santiago: TimeZone = "America/Santiago".parse().unwrap();
        let start = Utc.with_ymd_and_hms(2030, 8, 25, 4, 30, 0).unwrap();
        let schedule = Schedule::new(start, 3600, Some(None), None, santiago).unwrap();
        assert_eq!(
            schedule.current_or_next(at(2030, 9, 7, 12)),
            Some(Utc.with_ymd_and_hms(2030, 9, 8, 4, 30, 0).unwrap())
        );
        assert_eq!(
            schedule.current_or_next(at(2030, 9, 9, 0)),
            Some(Utc.with_ymd_and_hms(2030, 9, 15, 3, 30, 0).unwrap())
        );
    }

    #[test]
    fn a_repeated_time_is_its_first_instant() {
        // Berlin's weekly 02:30 from 2030-10-20 (CEST, 00:30 UTC): on 2030-10-27 02:30
        // happens twice, and the occurrence is the first, 00:30 UTC; a week on, 01:30 UTC.
        let berlin: TimeZone = "Europe/Berlin".parse().unwrap();
        let start = Utc.with_ymd_and_hms(2030, 10, 20, 0, 30, 0).unwrap();
        let schedule = Schedule::new(start, 1800, Some(None), None, berlin).unwrap();
        assert_eq!(
            schedule.current_or_next(at(2030, 10, 26, 0)),
            Some(Utc.with_ymd_and_hms(2030, 10, 27, 0, 30, 0).unwrap())
        );
        assert_eq!(
            schedule.current_or_next(at(2030, 10, 28, 0)),
            Some(Utc.with_ymd_and_hms(2030, 11, 3, 1, 30, 0).unwrap())
        );
    }

    #[test]
    fn utc_sessions_keep_their_utc_time_all_year() {
        let schedule = weekly_at_nine("UTC", 8);
        assert_eq!(
            schedule.current_or_next(at(2030, 3, 26, 0)),
            Some(at(2030, 4, 1, 8))
        );
    }

    #[test]
    fn a_weekly_session_moves_to_next_week_across_the_week_boundary() {
        // Monday 2030-01-07 10:00 UTC, weekly.
        let schedule =
            Schedule::new(at(2030, 1, 7, 10), 3600, Some(None), None, TimeZone::UTC).unwrap();
        assert_eq!(
            schedule.current_or_next(at(2030, 1, 13, 23)),
            Some(at(2030, 1, 14, 10))
        );
        assert_eq!(
            schedule.current_or_next(at(2030, 1, 14, 10)),
            Some(at(2030, 1, 14, 10))
        );
        assert_eq!(
            schedule.current_or_next(at(2030, 1, 14, 11)),
            Some(at(2030, 1, 21, 10))
        );
        assert!(schedule.is_ongoing(
            at(2030, 1, 14, 10),
            at(2030, 1, 14, 10) + Duration::minutes(30)
        ));
    }

    #[test]
    fn weekly_repetition_stops_at_the_events_end() {
        let schedule = Schedule::new(
            at(2030, 1, 7, 10),
            3600,
            Some(None),
            Some(at(2030, 1, 20, 0)),
            TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(
            schedule.current_or_next(at(2030, 1, 8, 0)),
            Some(at(2030, 1, 14, 10))
        );
        assert_eq!(schedule.current_or_next(at(2030, 1, 15, 0)), None);
    }

    #[test]
    fn a_custom_rule_replaces_the_weekly_one() {
        let rule = Rule::parse("FREQ=DAILY;COUNT=3").unwrap();
        let schedule = Schedule::new(
            at(2030, 1, 7, 10),
            3600,
            Some(Some(&rule)),
            None,
            TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(
            schedule.current_or_next(at(2030, 1, 7, 12)),
            Some(at(2030, 1, 8, 10))
        );
        assert_eq!(schedule.current_or_next(at(2030, 1, 9, 12)), None);
    }

    #[test]
    fn calendar_rules_end_as_the_schedule_ends() {
        let start = at(2030, 1, 7, 10);
        let end = Some(at(2030, 2, 1, 18));
        assert_eq!(calendar_rule(None, start, None).unwrap(), "FREQ=WEEKLY");
        assert_eq!(
            calendar_rule(None, start, end).unwrap(),
            "FREQ=WEEKLY;UNTIL=20300201T180000Z"
        );
        assert_eq!(
            calendar_rule(Some("RRULE:FREQ=DAILY;COUNT=5"), start, end).unwrap(),
            "FREQ=DAILY;COUNT=5"
        );
        assert_eq!(
            calendar_rule(Some("FREQ=MONTHLY;UNTIL=20310101T000000Z"), start, end).unwrap(),
            "FREQ=MONTHLY;UNTIL=20300201T180000Z",
            "a rule ending after the event is cut at the event's end"
        );
        assert_eq!(
            calendar_rule(Some("FREQ=DAILY;UNTIL=20300110T000000Z"), start, end).unwrap(),
            "FREQ=DAILY;UNTIL=20300110T000000Z"
        );
        assert_eq!(calendar_rule(None, start, Some(at(2030, 1, 1, 0))), None);
    }

    #[test]
    fn a_session_starting_after_its_event_ends_happens_once() {
        let schedule = Schedule::new(
            at(2030, 1, 7, 10),
            3600,
            Some(None),
            Some(at(2030, 1, 1, 0)),
            TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(
            schedule.current_or_next(at(2030, 1, 1, 0)),
            Some(at(2030, 1, 7, 10))
        );
        assert_eq!(schedule.current_or_next(at(2030, 1, 8, 0)), None);
    }

    #[test]
    fn invalid_and_too_frequent_rules_are_refused() {
        assert!(Rule::parse("FREQ=SOMETIMES").is_err());
        assert!(Rule::parse("FREQ=HOURLY").is_err());
        assert!(Rule::parse("FREQ=DAILY\nRRULE:FREQ=WEEKLY").is_err());
        assert!(Rule::parse(&"FREQ=DAILY;".repeat(60)).is_err());
        let error = Rule::parse("FREQ=DAILY;BYHOUR=0,1,2;BYMINUTE=0,30").unwrap_err();
        assert!(error.starts_with("BYHOUR is not supported"), "{error}");
        assert!(Rule::parse("FREQ=DAILY;BYSETPOS=1").is_err());
        assert!(Rule::parse("FREQ=DAILY;UNTIL=20990105").is_err());
        assert!(Rule::parse("FREQ=DAILY;UNTIL=20990105T000000").is_err());
        assert!(Rule::parse("FREQ=DAILY;UNTIL=20990105T000000Z").is_ok());
        assert!(Rule::parse("RRULE:FREQ=WEEKLY;BYDAY=MO,WE").is_ok());
    }
}

/// The limits of rules and the cost of finding their occurrences.
#[cfg(test)]
mod bounded_tests {
    use super::tests::at;
    use super::*;

    #[test]
    fn a_counted_rule_whose_occurrences_are_over_has_no_current_or_next() {
        let now = Utc::now();
        let start = now - Duration::days(2);
        let rule = Rule::parse("FREQ=DAILY;COUNT=2").unwrap();
        let schedule = Schedule::new(start, 3600, Some(Some(&rule)), None, TimeZone::UTC).unwrap();
        assert_eq!(schedule.current_or_next(now), None);
    }

    #[test]
    fn occurrences_keep_the_starts_fraction_of_a_second() {
        let start = at(2030, 1, 7, 10) + Duration::milliseconds(250);
        let rule = Rule::parse("FREQ=DAILY;COUNT=3").unwrap();
        let schedule = Schedule::new(start, 60, Some(Some(&rule)), None, TimeZone::UTC).unwrap();
        assert_eq!(schedule.current_or_next(start), Some(start));
        assert_eq!(
            schedule.current_or_next(start + Duration::minutes(2)),
            Some(start + Duration::days(1))
        );
    }

    /// The current or next occurrence found by walking the whole rule from its start.
    fn walked_from_the_start(
        rule: Option<&Rule>,
        start: DateTime<Utc>,
        duration: Duration,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let rule = rule.map_or_else(
            || RRule::new(Frequency::Weekly),
            |Rule(rule, _)| rule.clone(),
        );
        rule.build(start.with_timezone(&Tz::UTC))
            .unwrap()
            .into_iter()
            .map(|occurrence| occurrence.with_timezone(&Utc))
            .find(|occurrence| *occurrence + duration > now)
    }

    #[test]
    fn walking_from_a_later_start_finds_the_same_occurrences() {
        let rules = [
            None,
            Some("FREQ=DAILY"),
            Some("FREQ=DAILY;INTERVAL=3"),
            Some("FREQ=WEEKLY;BYDAY=MO,WE"),
            Some("FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;WKST=SU"),
            Some("FREQ=MONTHLY"),
            Some("FREQ=MONTHLY;BYMONTHDAY=31"),
            Some("FREQ=MONTHLY;BYDAY=1MO"),
            Some("FREQ=MONTHLY;INTERVAL=5;BYDAY=-1FR"),
            Some("FREQ=MONTHLY;BYMONTH=2,8"),
            Some("FREQ=YEARLY"),
            Some("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"),
            Some("FREQ=YEARLY;INTERVAL=2;BYMONTH=6"),
            Some("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29"),
            Some("FREQ=WEEKLY;UNTIL=20251231T000000Z"),
            Some("FREQ=DAILY;COUNT=900"),
            Some("FREQ=WEEKLY;BYDAY=TU,TH;COUNT=1000"),
            Some("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=400"),
            Some("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=9"),
        ];
        let starts = [
            at(1996, 1, 31, 9),
            at(1999, 2, 28, 23),
            at(2004, 2, 29, 12),
            at(2023, 10, 31, 0),
        ];
        let nows = [
            at(2025, 3, 30, 8),
            at(2026, 2, 28, 23),
            at(2028, 12, 31, 12),
        ];
        let duration = Duration::hours(2);
        for text in rules {
            let rule = text.map(|text| Rule::parse(text).unwrap());
            for start in starts {
                let schedule =
                    Schedule::new(start, 7200, Some(rule.as_ref()), None, TimeZone::UTC).unwrap();
                // As read back: knowing where the rule ends, as stored when written.
                let last_end = schedule.last_end();
                let schedule = schedule.knowing_last_end(last_end);
                for now in nows {
                    assert_eq!(
                        schedule.current_or_next(now),
                        walked_from_the_start(rule.as_ref(), start, duration, now),
                        "{text:?} from {start} at {now}"
                    );
                }
            }
        }
    }

    fn first_occurrence_check(text: &str, start: DateTime<Utc>) -> Result<(), String> {
        let rule = Rule::parse(text)?;
        Schedule::new(start, 3600, Some(Some(&rule)), None, TimeZone::UTC)?.check_bounds()
    }

    #[test]
    fn a_rule_must_first_occur_within_366_days_of_the_start() {
        let error = first_occurrence_check("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", at(2030, 1, 1, 9))
            .unwrap_err();
        assert!(error.contains("within 366 days"), "{error}");
        assert!(
            first_occurrence_check("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", at(2029, 3, 1, 9))
                .is_err()
        );
        assert!(
            first_occurrence_check("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", at(2031, 3, 1, 9))
                .is_ok()
        );
        assert!(
            first_occurrence_check(
                "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=3",
                at(2030, 1, 1, 9)
            )
            .is_err()
        );
        assert!(
            first_occurrence_check("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3", at(2030, 1, 1, 9)).is_ok()
        );
    }

    #[test]
    fn rules_no_day_could_satisfy_are_refused_without_a_long_walk() {
        let start = at(2030, 1, 30, 9);
        for text in [
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=DAILY;BYMONTH=4,6;BYMONTHDAY=31;COUNT=5",
            "FREQ=MONTHLY;BYMONTH=2",
            "FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=-31",
        ] {
            let error = first_occurrence_check(text, start).unwrap_err();
            assert!(error.contains("within 366 days"), "{text}: {error}");
        }
        assert!(first_occurrence_check("FREQ=MONTHLY;BYMONTHDAY=-1;BYMONTH=2", start).is_ok());
    }

    #[test]
    fn a_stored_rule_that_never_occurs_has_no_next_occurrence() {
        let rule = Rule::parse("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30").unwrap();
        let schedule = Schedule::new(
            at(1971, 1, 1, 9),
            3600,
            Some(Some(&rule)),
            None,
            TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(schedule.current_or_next(at(2030, 1, 1, 0)), None);
    }

    #[test]
    fn a_counted_rule_must_end_within_4000_of_its_periods() {
        let start = at(2031, 3, 1, 9);
        let error = first_occurrence_check("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;COUNT=1000", start)
            .unwrap_err();
        assert!(error.contains("within 4000 repetitions"), "{error}");
        assert!(first_occurrence_check("FREQ=DAILY;BYDAY=MO,WE,FR;COUNT=1000", start).is_ok());
        assert!(first_occurrence_check("FREQ=WEEKLY;INTERVAL=3;COUNT=1000", start).is_ok());
    }

    #[test]
    fn the_last_occurrence_ends_by_count_until_or_never() {
        let start = at(2030, 1, 7, 10);
        let hour = Duration::hours(1);
        let schedule = |text: &str, until| {
            let rule = Rule::parse(text).unwrap();
            Schedule::new(start, 3600, Some(Some(&rule)), until, TimeZone::UTC).unwrap()
        };
        assert_eq!(
            schedule("FREQ=DAILY;COUNT=3", None).last_end(),
            Some(at(2030, 1, 9, 10) + hour)
        );
        assert_eq!(
            schedule("FREQ=WEEKLY;UNTIL=20300125T000000Z", None).last_end(),
            Some(at(2030, 1, 21, 10) + hour)
        );
        assert_eq!(
            schedule("FREQ=DAILY", Some(at(2030, 3, 1, 0))).last_end(),
            Some(at(2030, 2, 28, 10) + hour),
            "the event's end"
        );
        assert_eq!(schedule("FREQ=MONTHLY", None).last_end(), None);
        let single = Schedule::new(start, 3600, None, None, TimeZone::UTC).unwrap();
        assert_eq!(single.last_end(), Some(start + hour));
    }

    #[test]
    fn a_count_above_1000_is_refused() {
        assert!(Rule::parse("FREQ=DAILY;COUNT=1000").is_ok());
        let error = Rule::parse("FREQ=DAILY;COUNT=1001").unwrap_err();
        assert_eq!(error, "COUNT must be at most 1000");
    }
}
