//! Reminders before sessions start (an extension of the reference): each participant's
//! lead time (and the requests and answers that set and read it), the occurrence a
//! reminder is about, who is owed one and when, and the `social:sessionStarting` push that
//! carries it.
//!
//! A reminder is owed to every participant — the owner, joined users and invited users
//! who have not declined — once per occurrence, when `lead` minutes or less are left
//! before it starts. An occurrence is told apart by its original start *and* the start it
//! takes place at: one moved after its reminder went out reminds again before its new
//! start; a lead time changed afterwards does not.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ids::{SessionId, hex_digest};
use super::occurrences::{Exception, ExceptionsOf};
use super::session::Session;
use super::session::view::occurrence_name;
use super::time::Timestamp;

/// Minutes before a start at which participants who never chose a lead time are reminded.
pub const DEFAULT_LEAD_MINUTES: u16 = 10;
/// The longest lead time one may choose: a day.
pub const MAX_LEAD_MINUTES: u16 = 1440;

/// A participant's choice: remind `minutes` before a start, or never (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderSetting(Option<u16>);

impl Default for ReminderSetting {
    fn default() -> Self {
        ReminderSetting(Some(DEFAULT_LEAD_MINUTES))
    }
}

impl ReminderSetting {
    /// Reminders `minutes` before a start (at most [`MAX_LEAD_MINUTES`]), or none.
    pub fn new(minutes: Option<u16>) -> Result<ReminderSetting, String> {
        match minutes {
            Some(minutes) if minutes > MAX_LEAD_MINUTES => Err(format!(
                "minutes must be between 0 and {MAX_LEAD_MINUTES}, or null"
            )),
            minutes => Ok(ReminderSetting(minutes)),
        }
    }

    /// The lead time in minutes; `None`: reminders are off.
    pub fn minutes(self) -> Option<u16> {
        self.0
    }

    /// When a reminder of an occurrence starting at `start` falls due (see [`EARLY`]);
    /// `None` when reminders are off.
    pub fn due_at(self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.0.map(|minutes| start - lead(minutes) - EARLY)
    }

    /// Whether a reminder of an occurrence starting at `start` is due at `now`: its time
    /// came and the occurrence has not begun.
    pub fn is_due(self, start: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        start > now && self.due_at(start).is_some_and(|due| due <= now)
    }
}

/// How much before its time a reminder may go out: so that one at the start itself (a
/// lead time of 0) arrives before the occurrence begins, not after.
pub const EARLY: Duration = Duration::seconds(2);

/// `minutes` as a duration.
pub fn lead(minutes: u16) -> Duration {
    Duration::minutes(i64::from(minutes))
}

/// The occurrence of a session a reminder is about: the next one not begun yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcoming {
    /// The occurrence's original start (its name); a single session's start.
    pub occurrence: DateTime<Utc>,
    /// When it takes place (moved, when changed).
    pub start: DateTime<Utc>,
    /// Its title (its own, when it was changed with one).
    pub title: String,
}

impl Upcoming {
    /// The next occurrence of `session` that starts after `now`, as it takes place
    /// (cancelled occurrences skipped, changed ones at their new starts with their
    /// titles); `None` when none is left, or the stored schedule is invalid.
    pub fn of(session: &Session, now: DateTime<Utc>) -> Option<Upcoming> {
        let schedule = session.schedule(None).ok()?;
        let (occurrence, start) = schedule.first_start_after(&session.exceptions, now)?;
        // Past the end of the last occurrence (its event's end bounds the repetitions).
        let last_end = session.active_until.map(Timestamp::to_chrono);
        if last_end.is_some_and(|end| occurrence + Duration::seconds(session.duration) > end) {
            return None;
        }
        let title = match session.exceptions.of(occurrence) {
            Some(Exception::Changed {
                title: Some(title), ..
            }) => title.clone(),
            _ => session.title.clone(),
        };
        Some(Upcoming {
            occurrence,
            start,
            title,
        })
    }

    /// The start of `session`'s next occurrence not begun at `now` (see [`Upcoming::of`]).
    pub fn start_of(session: &Session, now: Timestamp) -> Option<Timestamp> {
        Upcoming::of(session, now.to_chrono()).map(|upcoming| upcoming.start_timestamp())
    }

    /// When it starts, as a [`Timestamp`].
    pub fn start_timestamp(&self) -> Timestamp {
        Timestamp::saturating_from_millis(self.start.timestamp_millis())
    }

    /// Whether anyone could be owed a reminder of it at `now`: it starts within the
    /// longest lead time.
    pub fn is_near(&self, now: DateTime<Utc>) -> bool {
        self.start > now && self.start - lead(MAX_LEAD_MINUTES) - EARLY <= now
    }

    /// The key of `user_id`'s reminder of this occurrence of `session_id`: the same in
    /// every process, different once the occurrence moves.
    pub fn reminder_key(&self, session_id: &SessionId, user_id: &str) -> String {
        let key = format!(
            "{user_id}\u{0}{session_id}\u{0}{}\u{0}{}",
            self.occurrence.timestamp_millis(),
            self.start.timestamp_millis()
        );
        hex_digest(&key, 16)
    }
}

/// Who is owed reminders of `session`: the owner, joined users and invited users who have
/// not declined, each once, in that order.
pub fn participants(session: &Session) -> Vec<String> {
    let mut seen = HashSet::new();
    std::iter::once(&session.owner_id)
        .chain(&session.joined)
        .chain(
            session
                .invited
                .iter()
                .map(|invitation| &invitation.user_id)
                .filter(|user_id| !session.has_declined(user_id)),
        )
        .filter(|user_id| seen.insert(user_id.as_str()))
        .cloned()
        .collect()
}

/// The request of `social:setReminder`: the caller's lead time in minutes, `null` for
/// no reminders. Required: an empty request is a 400, not a way to switch them off.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SetReminderRequest {
    /// Minutes before a start (0 to 1440), or `null`: no reminders.
    #[serde(deserialize_with = "minutes_or_null")]
    #[schemars(schema_with = "minutes_schema")]
    pub minutes: Option<u16>,
}

/// The schema of a lead time: whole minutes within a day, or `null`.
fn minutes_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": ["integer", "null"],
        "minimum": 0,
        "maximum": MAX_LEAD_MINUTES,
    })
}

/// A number of minutes, or `null` (present either way).
fn minutes_or_null<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u16>, D::Error> {
    Option::<u16>::deserialize(deserializer)
}

/// The answer of `social:getReminder` and `social:setReminder`: the caller's lead time.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReminderMinutes {
    /// Minutes before a start at which the caller is reminded (10 unless they chose
    /// otherwise); `null`: no reminders.
    #[schemars(range(max = 1440))]
    pub minutes: Option<u16>,
}

/// The `data` of a `social:sessionStarting` push: an occurrence of a session the
/// recipient takes part in starts soon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionStarting {
    pub session_id: SessionId,
    /// The occurrence's original start, ISO 8601 in UTC (a single session's start).
    pub occurrence: String,
    /// When it starts (milliseconds since the epoch): moved occurrences at their new start.
    pub start_date: Timestamp,
    pub title: String,
    pub room_id: String,
    pub prop_id: String,
}

impl SessionStarting {
    /// The reminder of `upcoming`, an occurrence of `session`.
    pub fn of(session: &Session, upcoming: &Upcoming) -> SessionStarting {
        SessionStarting {
            session_id: session.id.clone(),
            occurrence: occurrence_name(upcoming.occurrence),
            start_date: upcoming.start_timestamp(),
            title: upcoming.title.clone(),
            room_id: session.room_id.clone(),
            prop_id: session.prop_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::domain::kinds::InvitationRole;
    use crate::domain::occurrences::Exceptions;
    use crate::domain::session::Invitation;

    fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 3, day, hour, minute, 0).unwrap()
    }

    /// Daily at 09:00 UTC from 2030-03-01, ten times, one hour each.
    fn daily() -> Session {
        let mut session = Session::new("s".into(), "owner", None, Timestamp::now());
        session.title = "Stand-up".into();
        session.start_date = Timestamp::saturating_from_millis(at(1, 9, 0).timestamp_millis());
        session.duration = 3600;
        session.is_recurring = true;
        session.recurrence = Some("FREQ=DAILY;COUNT=10".into());
        session.active_until = session
            .fresh_schedule(None)
            .unwrap()
            .last_end()
            .map(|end| Timestamp::saturating_from_millis(end.timestamp_millis()));
        session
    }

    #[test]
    fn a_lead_time_is_at_most_a_day_and_defaults_to_ten_minutes() {
        assert_eq!(ReminderSetting::default().minutes(), Some(10));
        assert!(ReminderSetting::new(Some(1440)).is_ok());
        assert!(ReminderSetting::new(Some(1441)).is_err());
        assert_eq!(ReminderSetting::new(None).unwrap().minutes(), None);
    }

    #[test]
    fn a_reminder_is_due_within_the_lead_time_before_the_start_only() {
        let start = at(5, 9, 0);
        let ten = ReminderSetting::default();
        assert!(!ten.is_due(start, at(5, 8, 49)));
        assert!(ten.is_due(start, at(5, 8, 50) - EARLY));
        assert!(ten.is_due(start, at(5, 8, 59)));
        assert!(!ten.is_due(start, start), "begun");
        // At the start: just before it, so that it arrives before the occurrence begins.
        let at_start = ReminderSetting::new(Some(0)).unwrap();
        assert!(at_start.is_due(start, start - EARLY));
        assert!(!at_start.is_due(start, start - EARLY - Duration::seconds(1)));
        assert!(!at_start.is_due(start, start));
        assert!(
            !ReminderSetting::new(None)
                .unwrap()
                .is_due(start, at(5, 8, 59))
        );
    }

    #[test]
    fn the_upcoming_occurrence_skips_cancelled_and_follows_moved_ones() {
        let mut session = daily();
        let upcoming = Upcoming::of(&session, at(3, 9, 30)).unwrap();
        assert_eq!(
            (upcoming.occurrence, upcoming.start),
            (at(4, 9, 0), at(4, 9, 0))
        );
        assert_eq!(upcoming.title, "Stand-up");
        // The 4th cancelled, the 5th moved an hour later with a title of its own.
        session.exceptions = Exceptions::new(vec![
            Exception::Cancelled {
                occurrence: at(4, 9, 0),
            },
            Exception::Changed {
                occurrence: at(5, 9, 0),
                start: at(5, 10, 0),
                duration: 1800,
                title: Some("Late stand-up".into()),
                description: None,
            },
        ]);
        let upcoming = Upcoming::of(&session, at(3, 9, 30)).unwrap();
        assert_eq!(
            (upcoming.occurrence, upcoming.start),
            (at(5, 9, 0), at(5, 10, 0))
        );
        assert_eq!(upcoming.title, "Late stand-up");
        // Under way at its original start: not begun until its new one.
        let upcoming = Upcoming::of(&session, at(5, 9, 30)).unwrap();
        assert_eq!(upcoming.start, at(5, 10, 0));
        let after = Upcoming::of(&session, at(5, 10, 0)).unwrap();
        assert_eq!(after.occurrence, at(6, 9, 0));
        // None after the last one.
        assert_eq!(Upcoming::of(&session, at(10, 9, 0)), None);
    }

    #[test]
    fn a_series_cut_short_by_its_events_end_is_upcoming_until_then() {
        let mut session = daily();
        // Weekly without end of its own, within an event that ends after the 8th.
        session.recurrence = None;
        session.active_until = Some(Timestamp::saturating_from_millis(
            at(8, 10, 0).timestamp_millis(),
        ));
        assert_eq!(
            Upcoming::of(&session, at(1, 9, 30)).unwrap().start,
            at(8, 9, 0)
        );
        assert_eq!(Upcoming::of(&session, at(8, 9, 0)), None);
    }

    #[test]
    fn a_single_session_is_upcoming_until_it_starts() {
        let mut session = daily();
        session.is_recurring = false;
        assert_eq!(
            Upcoming::of(&session, at(1, 8, 0)).unwrap().start,
            at(1, 9, 0)
        );
        assert_eq!(Upcoming::of(&session, at(1, 9, 0)), None);
    }

    #[test]
    fn a_moved_occurrence_has_another_key_and_each_user_their_own() {
        let session = daily();
        let upcoming = Upcoming::of(&session, at(3, 9, 30)).unwrap();
        let moved = Upcoming {
            start: at(4, 10, 0),
            ..upcoming.clone()
        };
        let key = upcoming.reminder_key(&session.id, "a");
        assert_eq!(key, upcoming.reminder_key(&session.id, "a"));
        assert_ne!(key, upcoming.reminder_key(&session.id, "b"));
        assert_ne!(key, moved.reminder_key(&session.id, "a"));
    }

    #[test]
    fn participants_are_the_owner_the_joined_and_invitees_who_did_not_decline() {
        let mut session = daily();
        session.joined = vec!["joined".into(), "owner".into()];
        session.invited = ["pending", "declined", "joined"]
            .iter()
            .map(|user_id| Invitation {
                user_id: (*user_id).into(),
                role: InvitationRole::Attendee,
            })
            .collect();
        session.declined = vec!["declined".into()];
        session.waitlist = vec!["waiting".into()];
        assert_eq!(participants(&session), ["owner", "joined", "pending"]);
    }
}
