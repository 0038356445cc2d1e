//! The `session` object of `createSession` and `updateSession`: its fields, their
//! validation, and the stored fields an update changes.

use serde::Deserialize;

use crate::domain::event::Event;
use crate::domain::ids::{EventId, SessionId};
use crate::domain::kinds::SessionKind;
use crate::domain::occurrences::Exceptions;
use crate::domain::recurrence::{MAX_RULE_CHARS, Rule};
use crate::domain::reminder::Upcoming;
use crate::domain::text::{
    CreateShape, MAX_DESCRIPTION_CHARS, MAX_REFERENCE_CHARS, MAX_TITLE_CHARS, check_texts,
    require_present, set_if_present,
};
use crate::domain::time::Timestamp;
use crate::domain::zone::TimeZone;
use crate::error::{ApiError, FieldPath};

use super::{Color, MAX_DURATION_SECONDS, Session};

/// The `session` object of `createSession` and `updateSession`. Server-owned fields
/// (`created`, `updated`, `ownerId`, `isValid`) are not read; `id` only finds the session
/// to update. `null` counts as absent.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionFields {
    pub id: Option<SessionId>,
    pub event_id: Option<EventId>,
    #[schemars(length(max = MAX_REFERENCE_CHARS))]
    pub room_id: Option<String>,
    #[schemars(length(max = MAX_REFERENCE_CHARS))]
    pub prop_id: Option<String>,
    pub session_type: Option<SessionKind>,
    /// Not blank.
    #[schemars(length(min = 1, max = MAX_TITLE_CHARS))]
    pub title: Option<String>,
    #[schemars(length(max = MAX_DESCRIPTION_CHARS))]
    pub description: Option<String>,
    /// Not before 1970.
    pub start_date: Option<Timestamp>,
    /// In whole seconds, up to 7 days.
    #[schemars(range(min = 1, max = MAX_DURATION_SECONDS))]
    pub duration: Option<i64>,
    pub is_recurring: Option<bool>,
    /// An RRULE replacing the weekly repetition; an empty string clears it.
    #[schemars(length(max = MAX_RULE_CHARS))]
    pub recurrence: Option<String>,
    /// The IANA time zone whose wall-clock time repetitions keep (`UTC` by default).
    pub time_zone: Option<TimeZone>,
    pub color: Option<Color>,
}

/// The stored fields an `updateSession` changes, with their values after the change.
/// `None` leaves a field as it is; `recurrence: Some(None)` clears the rule.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SessionUpdate {
    pub room_id: Option<String>,
    pub prop_id: Option<String>,
    pub session_type: Option<SessionKind>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub start_date: Option<Timestamp>,
    pub duration: Option<i64>,
    pub end_date: Option<Timestamp>,
    pub is_recurring: Option<bool>,
    pub recurrence: Option<Option<String>>,
    pub time_zone: Option<TimeZone>,
    pub color: Option<Color>,
    pub active_until: Option<Option<Timestamp>>,
    /// The exceptions left once the schedule changed (see `SessionFields::apply_to`).
    pub exceptions: Option<Exceptions>,
    /// When the schedule changed: the start of the next occurrence not begun yet (see
    /// `domain::reminder::Upcoming`), `None` inside when none is left.
    pub upcoming_start: Option<Option<Timestamp>>,
}

impl SessionUpdate {
    /// Whether the update changes when the session takes place.
    pub fn changes_schedule(&self) -> bool {
        self.start_date.is_some()
            || self.duration.is_some()
            || self.is_recurring.is_some()
            || self.recurrence.is_some()
            || self.time_zone.is_some()
            || self.active_until.is_some()
            || self.exceptions.is_some()
    }
}

impl CreateShape for SessionFields {
    const CREATE_SCHEMA_NAME: &'static str = "NewSession";
    const REQUIRED_TO_CREATE: &'static [&'static str] = &["title", "startDate", "duration"];
    const CREATE_DESCRIPTION: &'static str = "The `session` object of `createSession`. \
        Server-owned fields (`id`, `created`, `updated`, `ownerId`, `isValid`) are not read. \
        `null` counts as absent.";
}

impl SessionFields {
    /// The path of the `session` object in both requests.
    pub fn path() -> FieldPath {
        FieldPath::data().field("session")
    }

    /// A 400 naming the first field creating requires
    /// ([`CreateShape::REQUIRED_TO_CREATE`]) that is absent.
    pub fn require_complete(&self) -> Result<(), ApiError> {
        require_present(
            &Self::path(),
            &[
                ("title", self.title.is_some()),
                ("startDate", self.start_date.is_some()),
                ("duration", self.duration.is_some()),
            ],
        )
    }

    /// Checks each field that is present on its own.
    pub fn validate(&self) -> Result<(), ApiError> {
        let path = Self::path();
        check_texts(
            &path,
            &self.title,
            &self.description,
            &[
                ("eventId", self.event_id.as_deref()),
                ("roomId", self.room_id.as_deref()),
                ("propId", self.prop_id.as_deref()),
            ],
        )?;
        if self.start_date.is_some_and(|start| start.millis() < 0) {
            return Err(ApiError::invalid(
                path.field("startDate"),
                "must not be before 1970-01-01T00:00:00Z",
            ));
        }
        if let Some(duration) = self.duration
            && !(1..=MAX_DURATION_SECONDS).contains(&duration)
        {
            return Err(ApiError::invalid(
                path.field("duration"),
                format!("must be between 1 and {MAX_DURATION_SECONDS} seconds"),
            ));
        }
        if let Some(color) = &self.color {
            let components = [
                ("r", color.r),
                ("g", color.g),
                ("b", color.b),
                ("a", color.a),
            ];
            if let Some((name, _)) = components
                .iter()
                .find(|(_, value)| !(0.0..=1.0).contains(value))
            {
                return Err(ApiError::invalid(
                    path.field("color").field(name),
                    "must be between 0 and 1",
                ));
            }
        }
        if let Some(rule) = self.recurrence.as_deref().filter(|rule| !rule.is_empty()) {
            Rule::parse(rule)
                .map_err(|message| ApiError::invalid(path.field("recurrence"), message))?;
        }
        Ok(())
    }

    /// Copies the present fields (but `id` and `eventId`) onto `session` and checks the
    /// result against its event, naming the field that was sent.
    pub fn apply_to(&self, session: &mut Session, event: Option<&Event>) -> Result<(), ApiError> {
        let path = Self::path();
        set_if_present(&mut session.room_id, &self.room_id);
        set_if_present(&mut session.prop_id, &self.prop_id);
        set_if_present(&mut session.session_type, &self.session_type);
        set_if_present(&mut session.title, &self.title);
        set_if_present(&mut session.description, &self.description);
        set_if_present(&mut session.start_date, &self.start_date);
        set_if_present(&mut session.duration, &self.duration);
        set_if_present(&mut session.is_recurring, &self.is_recurring);
        if let Some(rule) = &self.recurrence {
            session.recurrence = Some(rule.clone()).filter(|rule| !rule.is_empty());
        }
        set_if_present(&mut session.time_zone, &self.time_zone);
        set_if_present(&mut session.color, &self.color);
        session.end_date = session.start_date.plus_seconds(session.duration);
        if session.room_id.is_empty() {
            return Err(ApiError::invalid(
                path.field("roomId"),
                "is required (for a session in an event, it defaults to the event's roomId)",
            ));
        }
        if session.is_recurring
            && session
                .time_zone
                .is_second_of_repeated_time(session.start_date.to_chrono())
        {
            return Err(ApiError::invalid(
                path.field("startDate"),
                format!(
                    "is the second of two instants with the same wall-clock time in {} (the \
                     clocks go back then): a recurring session there starts at the first",
                    session.time_zone
                ),
            ));
        }
        if session.recurrence.is_some() && !session.is_recurring {
            let field = if self.recurrence.is_some() {
                "recurrence"
            } else {
                "isRecurring"
            };
            return Err(ApiError::invalid(
                path.field(field),
                "a recurrence applies to recurring sessions only: set isRecurring to true",
            ));
        }
        let schedule = session
            .fresh_schedule(event)
            .and_then(|schedule| schedule.check_bounds().map(|()| schedule))
            .map_err(|message| ApiError::invalid(path.field("recurrence"), message))?;
        session.active_until = schedule
            .last_end()
            .map(|end| Timestamp::saturating_from_millis(end.timestamp_millis()));
        if self.changes_schedule() {
            // Occurrences changed one by one stay so while they are still occurrences.
            session.exceptions.retain_valid(&schedule);
        }
        Ok(())
    }

    /// Whether the request changes when the session takes place.
    fn changes_schedule(&self) -> bool {
        self.start_date.is_some()
            || self.duration.is_some()
            || self.is_recurring.is_some()
            || self.recurrence.is_some()
            || self.time_zone.is_some()
    }

    /// The fields this request changes, with their values in `merged` (the session after
    /// [`SessionFields::apply_to`]); `endDate` changes with the start or the duration.
    pub fn update_of(&self, merged: &Session) -> SessionUpdate {
        fn when<T: Clone>(sent: bool, value: &T) -> Option<T> {
            sent.then(|| value.clone())
        }
        SessionUpdate {
            room_id: when(self.room_id.is_some(), &merged.room_id),
            prop_id: when(self.prop_id.is_some(), &merged.prop_id),
            session_type: when(self.session_type.is_some(), &merged.session_type),
            title: when(self.title.is_some(), &merged.title),
            description: when(self.description.is_some(), &merged.description),
            start_date: when(self.start_date.is_some(), &merged.start_date),
            duration: when(self.duration.is_some(), &merged.duration),
            end_date: when(
                self.start_date.is_some() || self.duration.is_some(),
                &merged.end_date,
            ),
            is_recurring: when(self.is_recurring.is_some(), &merged.is_recurring),
            recurrence: when(self.recurrence.is_some(), &merged.recurrence),
            time_zone: when(self.time_zone.is_some(), &merged.time_zone),
            color: when(self.color.is_some(), &merged.color),
            active_until: when(self.changes_schedule(), &merged.active_until),
            exceptions: when(self.changes_schedule(), &merged.exceptions),
            upcoming_start: self
                .changes_schedule()
                .then(|| Upcoming::start_of(merged, Timestamp::now())),
        }
    }
}
