//! The repetitions of a recurring session: its rule anchored at a start, walked from the
//! anchor or from a start moved forward by whole periods, and the bounds of such walks.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use rrule::{Frequency, NWeekday, RRule, RRuleSet, Tz, Unvalidated};

/// A recurring session's rule, anchored at the whole second of its start.
#[derive(Debug, Clone)]
pub(super) struct Repetitions {
    pub(super) rule: RRule<Unvalidated>,
    /// The rule as written (`FREQ=WEEKLY` for the weekly default).
    pub(super) text: String,
    /// The start without its fraction of a second: rules work in whole seconds.
    pub(super) anchor: DateTime<Utc>,
    /// The zone whose wall-clock time the rule keeps.
    pub(super) zone: Tz,
}

/// The number of days in `day`'s month.
pub(super) fn days_in_month(day: NaiveDate) -> i32 {
    let first = day.with_day(1).unwrap_or(day);
    let next = first
        .checked_add_months(Months::new(1))
        .unwrap_or(NaiveDate::MAX);
    (next - first).num_days() as i32
}

/// One period of a rule: whole days or whole months.
pub(super) enum Period {
    Days(i64),
    Months(u32),
}

impl Repetitions {
    /// The rule's occurrences, walked from `from`: the anchor itself or a start moved
    /// forward by whole periods (see [`Repetitions::walk_start`]).
    pub(super) fn occurrences_from(
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
    pub(super) fn expand(
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
    pub(super) fn local_of(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        instant.with_timezone(&self.zone).naive_local()
    }

    /// Wall-clock time `local` placed in the zone: its first instant, or, when the clocks
    /// skip it, the instant it would be with the offset before the change.
    pub(super) fn placed(&self, local: NaiveDateTime) -> DateTime<Utc> {
        if let Some(instant) = self.instant_of(local) {
            return instant;
        }
        let day_before = self.zone.from_utc_datetime(&(local - Duration::days(1)));
        let offset_before = day_before.naive_local() - day_before.naive_utc();
        Utc.from_utc_datetime(&(local - offset_before))
    }

    /// The anchor's wall-clock time in the zone.
    pub(super) fn local_anchor(&self) -> NaiveDateTime {
        self.local_of(self.anchor)
    }

    /// The instant of wall-clock time `local` in the zone (the earlier one when a
    /// daylight-saving change repeats it); `None` when a change skips it.
    pub(super) fn instant_of(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        self.zone
            .from_local_datetime(&local)
            .earliest()
            .map(|instant| instant.with_timezone(&Utc))
    }

    /// The anchor moved forward by `period` of wall-clock time, `times` times; `None` when
    /// that time does not exist in the zone or the calendar.
    pub(super) fn anchor_after(&self, period: &Period, times: i64) -> Option<DateTime<Utc>> {
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
    pub(super) fn walk_start(&self, after: DateTime<Utc>) -> DateTime<Utc> {
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
    pub(super) fn has_candidate_day(&self, from: DateTime<Utc>, days: i64) -> bool {
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
    pub(super) fn span_end(&self, periods: u32) -> DateTime<Utc> {
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
    pub(super) fn with_implied_days(&self) -> RRule<Unvalidated> {
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
