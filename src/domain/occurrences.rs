//! Exceptions to a recurring session's rule (extension): one occurrence, named by its
//! original start (`occurrence`), cancelled, or changed — another start, duration, title
//! or description — without breaking the series.
//!
//! The rules: an `occurrence` must be an occurrence of the rule (a session that does not
//! repeat has none to change); a changed start may not lie before the previous
//! occurrence's original start nor after the next one's; a session holds at most
//! [`MAX_EXCEPTIONS`]; changing the rule keeps only the exceptions whose occurrence still
//! exists. The occurrences as they take place are the rule's, less the cancelled ones,
//! with the changed ones at their new times.

use chrono::{DateTime, Duration, Utc};

use crate::domain::recurrence::{Neighbours, NoOccurrence, Schedule};

/// Most exceptions of one session.
pub const MAX_EXCEPTIONS: usize = 100;

/// What became of one occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exception {
    /// It does not take place.
    Cancelled { occurrence: DateTime<Utc> },
    /// It takes place as changed: at `start`, for `duration` seconds, with its own title or
    /// description when given.
    Changed {
        occurrence: DateTime<Utc>,
        start: DateTime<Utc>,
        duration: i64,
        title: Option<String>,
        description: Option<String>,
    },
}

impl Exception {
    /// The original start of the occurrence it changes.
    pub fn occurrence(&self) -> DateTime<Utc> {
        match self {
            Exception::Cancelled { occurrence } | Exception::Changed { occurrence, .. } => {
                *occurrence
            }
        }
    }
}

/// Why an exception cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExceptionError {
    #[error("the session does not repeat: it has no occurrences to change")]
    NotRecurring,
    #[error("is not an occurrence of the session (its original start, in UTC)")]
    NotAnOccurrence,
    #[error("must not be before the previous occurrence's start ({0}) nor after the next one's")]
    OutOfOrder(String),
    #[error("a session has at most {MAX_EXCEPTIONS} changed or cancelled occurrences")]
    TooMany,
}

impl From<NoOccurrence> for ExceptionError {
    fn from(no_occurrence: NoOccurrence) -> Self {
        match no_occurrence {
            NoOccurrence::NotRecurring => ExceptionError::NotRecurring,
            NoOccurrence::NotAnOccurrence => ExceptionError::NotAnOccurrence,
        }
    }
}

/// A session's exceptions, sorted by occurrence, at most one per occurrence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exceptions(Vec<Exception>);

impl Exceptions {
    /// `exceptions` sorted by occurrence; of two for one occurrence, the later one given.
    pub fn new(exceptions: Vec<Exception>) -> Exceptions {
        let mut sorted = Exceptions::default();
        for exception in exceptions {
            sorted.put(exception);
        }
        sorted
    }

    pub fn as_slice(&self) -> &[Exception] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The exception of `occurrence`, if any.
    pub fn of(&self, occurrence: DateTime<Utc>) -> Option<&Exception> {
        self.position(occurrence).ok().map(|index| &self.0[index])
    }

    fn position(&self, occurrence: DateTime<Utc>) -> Result<usize, usize> {
        self.0
            .binary_search_by_key(&occurrence, Exception::occurrence)
    }

    fn put(&mut self, exception: Exception) {
        match self.position(exception.occurrence()) {
            Ok(index) => self.0[index] = exception,
            Err(index) => self.0.insert(index, exception),
        }
    }

    /// The change that makes an occurrence take place from `start` to `end`, if one does.
    pub fn changed_to(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Option<&Exception> {
        self.0.iter().find(|exception| {
            matches!(exception, Exception::Changed { start: changed, duration, .. }
                if *changed == start && *changed + Duration::seconds(*duration) == end)
        })
    }

    /// Makes `exception` (checked against `schedule` first), replacing the one its
    /// occurrence had.
    pub fn set(&mut self, schedule: &Schedule, exception: Exception) -> Result<(), ExceptionError> {
        schedule.check_exception(&exception)?;
        if self.of(exception.occurrence()).is_none() && self.0.len() >= MAX_EXCEPTIONS {
            return Err(ExceptionError::TooMany);
        }
        self.put(exception);
        Ok(())
    }

    /// Takes back what became of `occurrence`; answers whether anything had.
    pub fn restore(&mut self, occurrence: DateTime<Utc>) -> bool {
        match self.position(occurrence) {
            Ok(index) => {
                self.0.remove(index);
                true
            }
            Err(_) => false,
        }
    }

    /// Keeps the exceptions whose occurrence is still one of `schedule` (after its rule or
    /// start changed) and whose change still fits between its neighbours: one walk of the
    /// rule over the stretch the exceptions span (at most a bounded number of occurrences;
    /// one beyond them is checked on its own).
    pub fn retain_valid(&mut self, schedule: &Schedule) {
        let (Some(first), Some(last)) = (self.0.first(), self.0.last()) else {
            return;
        };
        let (first, last) = (first.occurrence(), last.occurrence());
        let Ok(walk) = schedule.originals_before(first) else {
            self.0.clear();
            return;
        };
        let mut originals = Vec::new();
        for start in walk {
            originals.push(start);
            if start > last {
                break;
            }
        }
        self.0.retain(
            |exception| match originals.binary_search(&exception.occurrence()) {
                Ok(index) => allow(
                    &Neighbours {
                        previous: index.checked_sub(1).map(|previous| originals[previous]),
                        next: originals.get(index + 1).copied(),
                    },
                    exception,
                )
                .is_ok(),
                Err(index) if index == originals.len() => {
                    schedule.check_exception(exception).is_ok()
                }
                Err(_) => false,
            },
        );
    }

    /// The start and end of `occurrence` as it takes place; `None` when cancelled.
    fn applied(
        &self,
        occurrence: DateTime<Utc>,
        duration: Duration,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match self.of(occurrence) {
            None => Some((occurrence, occurrence + duration)),
            Some(Exception::Cancelled { .. }) => None,
            Some(Exception::Changed {
                start, duration, ..
            }) => Some((*start, *start + Duration::seconds(*duration))),
        }
    }

    /// The longest duration of a changed occurrence.
    fn longest_change(&self) -> Duration {
        self.0
            .iter()
            .filter_map(|exception| match exception {
                Exception::Changed { duration, .. } => Some(Duration::seconds(*duration)),
                Exception::Cancelled { .. } => None,
            })
            .max()
            .unwrap_or(Duration::zero())
    }
}

/// Whether `exception`, of the occurrence between `neighbours`, may be made: a changed
/// start lies between their original starts.
fn allow(neighbours: &Neighbours, exception: &Exception) -> Result<(), ExceptionError> {
    if let Exception::Changed { start, .. } = exception {
        let too_early = neighbours
            .previous
            .is_some_and(|previous| *start < previous);
        let too_late = neighbours.next.is_some_and(|next| *start > next);
        if too_early || too_late {
            let previous = neighbours
                .previous
                .map_or_else(|| "none".to_owned(), |previous| previous.to_rfc3339());
            return Err(ExceptionError::OutOfOrder(previous));
        }
    }
    Ok(())
}

/// The exceptions' rules on a schedule.
pub trait ExceptionsOf {
    /// Whether `exception` may be made: its occurrence is one of the rule, and a changed
    /// start lies between the neighbours' original starts.
    fn check_exception(&self, exception: &Exception) -> Result<(), ExceptionError>;

    /// The start and end of the occurrence under way at `now`, or of the next one, as they
    /// take place with `exceptions`; `None` when none is left.
    fn current_or_next_with(
        &self,
        exceptions: &Exceptions,
        now: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)>;

    /// The first occurrence that starts after `after` as it takes place with `exceptions`:
    /// its original start and its start; `None` when none is left.
    fn first_start_after(
        &self,
        exceptions: &Exceptions,
        after: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)>;
}

impl ExceptionsOf for Schedule {
    fn check_exception(&self, exception: &Exception) -> Result<(), ExceptionError> {
        allow(&self.neighbours_of(exception.occurrence())?, exception)
    }

    fn current_or_next_with(
        &self,
        exceptions: &Exceptions,
        now: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if exceptions.is_empty() || !self.is_recurring() {
            let start = self.current_or_next(now)?;
            return Some((start, self.end_of(start)));
        }
        // An occurrence moves at most to its neighbours' starts: one under way now began
        // at most its longest duration ago, after the previous occurrence's start.
        let reach = Duration::seconds(self.duration_seconds()).max(exceptions.longest_change());
        let mut found: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        let mut previous = None;
        for original in self.originals_around(now, reach).ok()? {
            // Any later occurrence starts at its previous one's original start or later.
            if let (Some((start, _)), Some(previous)) = (found, previous)
                && previous > start
            {
                break;
            }
            if let Some((start, end)) =
                exceptions.applied(original, Duration::seconds(self.duration_seconds()))
                && end > now
                && found.is_none_or(|(best, _)| start < best)
            {
                found = Some((start, end));
            }
            previous = Some(original);
        }
        found
    }

    fn first_start_after(
        &self,
        exceptions: &Exceptions,
        after: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_recurring() {
            let start = self.current_or_next(after).filter(|start| *start > after)?;
            return Some((start, start));
        }
        let duration = Duration::seconds(self.duration_seconds());
        // A changed occurrence starts no later than its next neighbour's original start:
        // one starting after `after` is at most one original before it.
        let mut found: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        let mut previous = None;
        for original in self.originals_around(after, Duration::zero()).ok()? {
            // Any later occurrence starts at its previous one's original start or later.
            if let (Some((_, start)), Some(previous)) = (found, previous)
                && previous > start
            {
                break;
            }
            if let Some((start, _)) = exceptions.applied(original, duration)
                && start > after
                && found.is_none_or(|(_, best)| start < best)
            {
                found = Some((original, start));
            }
            previous = Some(original);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::domain::recurrence::Rule;
    use crate::domain::zone::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    /// Daily at 09:00 Europe/Berlin from Friday 2030-03-29 (08:00 UTC; 07:00 UTC from the
    /// change to summer time on Sunday 2030-03-31), one hour each.
    fn daily_in_berlin() -> Schedule {
        let rule = Rule::parse("FREQ=DAILY;COUNT=10").unwrap();
        let zone: TimeZone = "Europe/Berlin".parse().unwrap();
        Schedule::new(at(2030, 3, 29, 8), 3600, Some(Some(&rule)), None, zone).unwrap()
    }

    fn changed(occurrence: DateTime<Utc>, start: DateTime<Utc>) -> Exception {
        Exception::Changed {
            occurrence,
            start,
            duration: 1800,
            title: Some("Moved".to_owned()),
            description: None,
        }
    }

    #[test]
    fn an_occurrence_is_an_original_start_of_the_rule_across_daylight_saving() {
        let schedule = daily_in_berlin();
        let neighbours = schedule.neighbours_of(at(2030, 3, 31, 7)).unwrap();
        assert_eq!(neighbours.previous, Some(at(2030, 3, 30, 8)));
        assert_eq!(neighbours.next, Some(at(2030, 4, 1, 7)));
        // 08:00 UTC on the 31st is 10:00 in Berlin: no occurrence.
        assert_eq!(
            schedule.neighbours_of(at(2030, 3, 31, 8)),
            Err(NoOccurrence::NotAnOccurrence)
        );
        let first = schedule.neighbours_of(at(2030, 3, 29, 8)).unwrap();
        assert_eq!(first.previous, None);
        let last = schedule.neighbours_of(at(2030, 4, 7, 7)).unwrap();
        assert_eq!(last.next, None);
        assert_eq!(
            schedule.neighbours_of(at(2030, 4, 8, 7)),
            Err(NoOccurrence::NotAnOccurrence),
            "past the COUNT"
        );
        let single = Schedule::new(at(2030, 3, 29, 8), 3600, None, None, TimeZone::UTC).unwrap();
        assert_eq!(
            single.neighbours_of(at(2030, 3, 29, 8)),
            Err(NoOccurrence::NotRecurring)
        );
    }

    #[test]
    fn a_changed_start_stays_between_its_neighbours_original_starts() {
        let schedule = daily_in_berlin();
        let mut exceptions = Exceptions::default();
        let sunday = at(2030, 3, 31, 7);
        for start in [at(2030, 3, 30, 8), at(2030, 4, 1, 7), at(2030, 3, 31, 12)] {
            exceptions.set(&schedule, changed(sunday, start)).unwrap();
        }
        assert_eq!(exceptions.as_slice().len(), 1, "one per occurrence");
        for start in [at(2030, 3, 30, 7), at(2030, 4, 1, 8)] {
            assert!(matches!(
                exceptions.set(&schedule, changed(sunday, start)),
                Err(ExceptionError::OutOfOrder(_))
            ));
        }
        assert!(exceptions.restore(sunday));
        assert!(!exceptions.restore(sunday));
    }

    #[test]
    fn a_session_holds_at_most_a_hundred_exceptions() {
        let rule = Rule::parse("FREQ=DAILY").unwrap();
        let schedule = Schedule::new(
            at(2030, 1, 1, 8),
            3600,
            Some(Some(&rule)),
            None,
            TimeZone::UTC,
        )
        .unwrap();
        let mut exceptions = Exceptions::default();
        for day in 0..MAX_EXCEPTIONS as i64 {
            let occurrence = at(2030, 1, 1, 8) + Duration::days(day);
            exceptions
                .set(&schedule, Exception::Cancelled { occurrence })
                .unwrap();
        }
        let one_more = Exception::Cancelled {
            occurrence: at(2030, 1, 1, 8) + Duration::days(MAX_EXCEPTIONS as i64),
        };
        assert_eq!(
            exceptions.set(&schedule, one_more),
            Err(ExceptionError::TooMany)
        );
        // Changing one already there is no new exception.
        let again = changed(at(2030, 1, 1, 8), at(2030, 1, 1, 9));
        assert_eq!(exceptions.set(&schedule, again), Ok(()));
    }

    #[test]
    fn the_current_occurrence_skips_cancelled_ones_and_follows_moved_ones() {
        let schedule = daily_in_berlin();
        let mut exceptions = Exceptions::default();
        let (saturday, sunday, monday) =
            (at(2030, 3, 30, 8), at(2030, 3, 31, 7), at(2030, 4, 1, 7));
        exceptions
            .set(
                &schedule,
                Exception::Cancelled {
                    occurrence: saturday,
                },
            )
            .unwrap();
        // Friday's has ended: Saturday's is cancelled, so Sunday's is next.
        assert_eq!(
            schedule.current_or_next_with(&exceptions, at(2030, 3, 29, 10)),
            Some((sunday, sunday + Duration::hours(1)))
        );
        // Sunday's moved to Saturday evening: under way then, and next before it.
        let evening = at(2030, 3, 30, 18);
        exceptions.set(&schedule, changed(sunday, evening)).unwrap();
        assert_eq!(
            schedule.current_or_next_with(&exceptions, at(2030, 3, 30, 18) + Duration::minutes(10)),
            Some((evening, evening + Duration::minutes(30)))
        );
        assert_eq!(
            schedule.current_or_next_with(&exceptions, at(2030, 3, 29, 10)),
            Some((evening, evening + Duration::minutes(30)))
        );
        // After it, Monday's.
        assert_eq!(
            schedule.current_or_next_with(&exceptions, at(2030, 3, 30, 19)),
            Some((monday, monday + Duration::hours(1)))
        );
        // Monday's moved to Sunday's original start, Sunday's back to its own: both at
        // 07:00 UTC; the one that ends first does not hide the other.
        exceptions.restore(sunday);
        exceptions.set(&schedule, changed(monday, sunday)).unwrap();
        assert_eq!(
            schedule.current_or_next_with(&exceptions, at(2030, 3, 31, 7) + Duration::minutes(40)),
            Some((sunday, sunday + Duration::hours(1)))
        );
    }

    #[test]
    fn a_changed_rule_keeps_the_exceptions_of_occurrences_it_still_has() {
        let schedule = daily_in_berlin();
        let mut exceptions = Exceptions::new(vec![
            Exception::Cancelled {
                occurrence: at(2030, 3, 31, 7),
            },
            Exception::Cancelled {
                occurrence: at(2030, 4, 5, 7),
            },
        ]);
        let shorter = Rule::parse("FREQ=DAILY;COUNT=5").unwrap();
        let zone: TimeZone = "Europe/Berlin".parse().unwrap();
        let shortened =
            Schedule::new(at(2030, 3, 29, 8), 3600, Some(Some(&shorter)), None, zone).unwrap();
        exceptions.retain_valid(&shortened);
        assert_eq!(
            exceptions.as_slice(),
            [Exception::Cancelled {
                occurrence: at(2030, 3, 31, 7)
            }]
        );
        exceptions.retain_valid(&schedule);
        assert_eq!(exceptions.as_slice().len(), 1);
    }
}
