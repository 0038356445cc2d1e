//! When a session happens: its single occurrence, or its repetitions — weekly at the same
//! weekday and UTC time (`isRecurring`), or by an RFC 5545 RRULE (`recurrence`), until the
//! event's end when the session belongs to an event.

use chrono::{DateTime, Duration, Utc};
use rrule::{Frequency, RRule, RRuleSet, Tz, Unvalidated};

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

/// A parsed `recurrence` value, not yet anchored to a start.
#[derive(Debug, Clone)]
pub struct Rule(RRule<Unvalidated>);

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
        Ok(Rule(rule))
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
        None => Rule(RRule::new(Frequency::Weekly)),
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
    repetitions: Option<RRuleSet>,
}

impl Schedule {
    /// A schedule starting at `start`, each occurrence lasting `duration_seconds`.
    /// `repeats` is `None` for a single occurrence, `Some(None)` for weekly repetition, and
    /// `Some(Some(rule))` for a custom rule. Repetitions stop at `until` when given.
    pub fn new(
        start: DateTime<Utc>,
        duration_seconds: i64,
        repeats: Option<Option<&Rule>>,
        until: Option<DateTime<Utc>>,
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
        let mut rule = match rule {
            Some(Rule(rule)) => rule.clone(),
            None => RRule::new(Frequency::Weekly),
        };
        if let Some(until) = imposed_until(&rule, until) {
            rule = rule.until(until);
        }
        let repetitions = rule
            .build(start.with_timezone(&Tz::UTC))
            .map_err(|error| format!("not a valid RRULE: {error}"))?;
        Ok(Schedule {
            start,
            duration,
            repetitions: Some(repetitions),
        })
    }

    /// The start of the occurrence that is under way at `now`, or else the next one;
    /// `None` when every occurrence has ended.
    pub fn current_or_next(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let not_ended = |start: &DateTime<Utc>| *start + self.duration > now;
        match &self.repetitions {
            None => Some(self.start).filter(not_ended),
            Some(set) => set
                .clone()
                .into_iter()
                .map(|start| start.with_timezone(&Utc))
                .find(not_ended),
        }
    }

    /// Whether the occurrence starting at `start` is under way at `now`.
    pub fn is_ongoing(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        start <= now && now < start + self.duration
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn a_single_session_is_current_until_it_ends() {
        let schedule = Schedule::new(at(2030, 1, 7, 10), 3600, None, None).unwrap();
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

    #[test]
    fn a_weekly_session_moves_to_next_week_across_the_week_boundary() {
        // Monday 2030-01-07 10:00 UTC, weekly.
        let schedule = Schedule::new(at(2030, 1, 7, 10), 3600, Some(None), None).unwrap();
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
        let schedule = Schedule::new(at(2030, 1, 7, 10), 3600, Some(Some(&rule)), None).unwrap();
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
