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

mod repetitions;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use rrule::{Frequency, RRule, Tz, Unvalidated};

use self::repetitions::Repetitions;
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

/// The original starts of the occurrences before and after one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbours {
    pub previous: Option<DateTime<Utc>>,
    pub next: Option<DateTime<Utc>>,
}

/// Why an instant names no occurrence of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoOccurrence {
    /// The session does not repeat.
    NotRecurring,
    /// The instant is not an original start of the rule.
    NotAnOccurrence,
}

/// Most occurrences walked to find the neighbours of one, or the current one.
const MAX_WALKED: usize = 10_000;
/// How far back the previous occurrence of any accepted rule lies at most: four years and
/// a day (the sparsest repeats on a 29 February).
const PREVIOUS_REACH: Duration = Duration::days(4 * 366 + 1);

/// When a session takes place.
#[derive(Debug, Clone)]
pub struct Schedule {
    start: DateTime<Utc>,
    duration: Duration,
    repetitions: Option<Repetitions>,
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

    /// The original occurrences from somewhat before `around`: at least one period and
    /// `reach` before it.
    pub fn originals_around(
        &self,
        around: DateTime<Utc>,
        reach: Duration,
    ) -> Result<impl Iterator<Item = DateTime<Utc>> + '_, NoOccurrence> {
        let repetitions = self
            .repetitions
            .as_ref()
            .ok_or(NoOccurrence::NotRecurring)?;
        let offset = self.start - repetitions.anchor;
        let from = repetitions.walk_start(around - reach - offset);
        let walk = repetitions
            .occurrences_from(from)
            .map_err(|_| NoOccurrence::NotAnOccurrence)?;
        Ok(walk.map(move |start| start + offset).take(MAX_WALKED))
    }

    /// The neighbours of `occurrence`, when it is an original start of the rule.
    pub fn neighbours_of(&self, occurrence: DateTime<Utc>) -> Result<Neighbours, NoOccurrence> {
        let mut previous = None;
        let mut walk = self.originals_around(occurrence, PREVIOUS_REACH)?;
        for start in walk.by_ref() {
            if start == occurrence {
                return Ok(Neighbours {
                    previous,
                    next: walk.next(),
                });
            }
            if start > occurrence {
                break;
            }
            previous = Some(start);
        }
        Err(NoOccurrence::NotAnOccurrence)
    }

    /// The original occurrences from far enough before `occurrence` that the one before
    /// it is among them.
    pub fn originals_before(
        &self,
        occurrence: DateTime<Utc>,
    ) -> Result<impl Iterator<Item = DateTime<Utc>> + '_, NoOccurrence> {
        self.originals_around(occurrence, PREVIOUS_REACH)
    }

    /// Whether the session repeats.
    pub fn is_recurring(&self) -> bool {
        self.repetitions.is_some()
    }

    /// How long each occurrence lasts, in seconds.
    pub fn duration_seconds(&self) -> i64 {
        self.duration.num_seconds()
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

#[cfg(test)]
mod tests;
