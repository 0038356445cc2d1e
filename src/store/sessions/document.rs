//! A session as stored: the document's fields, its conversions from and to
//! `domain::session::Session`, and the `$set` of an update.

use bson::{Document, doc};
use serde::{Deserialize, Serialize};

use crate::domain::ids::{EventId, SessionId};
use crate::domain::kinds::SessionKind;
use crate::domain::occurrences::{Exception, Exceptions};
use crate::domain::reminder::Upcoming;
use crate::domain::session::fields::SessionUpdate;
use crate::domain::session::{Color, EventScope, Invitation, PendingContact, Session};
use crate::domain::time::Timestamp;
use crate::domain::zone::TimeZone;
use crate::store::{StoreError, StoreResult};

/// The collection's name.
pub const COLLECTION: &str = "sessions";

/// A session as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SessionDocument {
    #[serde(rename = "_id")]
    id: SessionId,
    created: bson::DateTime,
    updated: bson::DateTime,
    event_id: EventId,
    owner_id: String,
    room_id: String,
    prop_id: String,
    session_type: SessionKind,
    title: String,
    description: String,
    start_date: bson::DateTime,
    duration: i64,
    /// End of the first occurrence (`startDate` + `duration`), for prop queries.
    end_date: bson::DateTime,
    is_recurring: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recurrence: Option<String>,
    /// Absent in sessions written before time zones: UTC.
    #[serde(default)]
    time_zone: TimeZone,
    color: Color,
    is_valid: bool,
    #[serde(default)]
    invited: Vec<Invitation>,
    #[serde(default)]
    declined: Vec<String>,
    #[serde(default)]
    joined: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    waitlist: Vec<String>,
    #[serde(default)]
    pending_contacts: Vec<PendingContact>,
    #[serde(default)]
    sequence: i64,
    /// Grows with every rewrite of `invited`.
    #[serde(default)]
    revision: i64,
    /// Grows with every write (see [`counted`]).
    #[serde(default)]
    version: i64,
    /// End of the last occurrence; `null` for a session that repeats without end. Missing
    /// in sessions written before it existed.
    #[serde(default, deserialize_with = "present_or_null")]
    active_until: Option<Option<bson::DateTime>>,
    /// What the session keeps of its event (`domain::session::EventScope`), for
    /// visibility in queries; absent for standalone sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event_scope: Option<EventScope>,
    /// A recurring session's current or next occurrence as last worked out, what prop
    /// listings sort by (see [`Store::refresh_next_occurrences`]); `null` when none is left
    /// (and for single sessions), missing when it must be worked out again.
    #[serde(default)]
    next_start: Option<bson::DateTime>,
    #[serde(default)]
    next_end: Option<bson::DateTime>,
    /// The start of the next occurrence not begun yet as last worked out (see
    /// `domain::reminder::Upcoming`), what the reminder scan looks for; `null` when none is
    /// left, missing when it must be worked out again (see [`Store::look_ahead`]).
    #[serde(default)]
    upcoming_start: Option<bson::DateTime>,
    /// Occurrences cancelled or changed, by their original start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    exceptions: Vec<ExceptionDocument>,
}

/// An occurrence cancelled (no `startDate`) or changed, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ExceptionDocument {
    occurrence: bson::DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start_date: Option<bson::DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl From<&Exception> for ExceptionDocument {
    fn from(exception: &Exception) -> Self {
        match exception {
            Exception::Cancelled { occurrence } => ExceptionDocument {
                occurrence: bson::DateTime::from_chrono(*occurrence),
                start_date: None,
                duration: None,
                title: None,
                description: None,
            },
            Exception::Changed {
                occurrence,
                start,
                duration,
                title,
                description,
            } => ExceptionDocument {
                occurrence: bson::DateTime::from_chrono(*occurrence),
                start_date: Some(bson::DateTime::from_chrono(*start)),
                duration: Some(*duration),
                title: title.clone(),
                description: description.clone(),
            },
        }
    }
}

impl ExceptionDocument {
    fn into_exception(self) -> Exception {
        let occurrence = self.occurrence.to_chrono();
        match (self.start_date, self.duration) {
            (Some(start), Some(duration)) => Exception::Changed {
                occurrence,
                start: start.to_chrono(),
                duration,
                title: self.title,
                description: self.description,
            },
            _ => Exception::Cancelled { occurrence },
        }
    }
}

/// `exceptions` as stored.
pub(super) fn exception_documents(exceptions: &Exceptions) -> StoreResult<bson::Bson> {
    let documents: Vec<ExceptionDocument> = exceptions
        .as_slice()
        .iter()
        .map(ExceptionDocument::from)
        .collect();
    bson::to_bson(&documents).map_err(StoreError::unwritable)
}

/// Tells a field stored as `null` (`Some(None)`) from a missing one (`None`).
pub(super) fn present_or_null<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<bson::DateTime>>, D::Error> {
    Option::<bson::DateTime>::deserialize(deserializer).map(Some)
}

impl From<&Session> for SessionDocument {
    fn from(session: &Session) -> Self {
        let next = session
            .is_recurring
            .then(|| session.next_occurrence(chrono::Utc::now()))
            .flatten();
        SessionDocument {
            id: session.id.clone(),
            created: session.created.into(),
            updated: session.updated.into(),
            event_id: session.event_id.clone(),
            owner_id: session.owner_id.clone(),
            room_id: session.room_id.clone(),
            prop_id: session.prop_id.clone(),
            session_type: session.session_type,
            title: session.title.clone(),
            description: session.description.clone(),
            start_date: session.start_date.into(),
            duration: session.duration,
            end_date: session.end_date.into(),
            is_recurring: session.is_recurring,
            recurrence: session.recurrence.clone(),
            time_zone: session.time_zone,
            color: session.color,
            is_valid: session.is_valid,
            invited: session.invited.clone(),
            declined: session.declined.clone(),
            joined: session.joined.clone(),
            waitlist: session.waitlist.clone(),
            pending_contacts: session.pending_contacts.clone(),
            sequence: session.sequence,
            revision: session.revision,
            version: session.version,
            active_until: Some(session.active_until.map(bson::DateTime::from)),
            event_scope: session.event_scope.clone(),
            next_start: next.map(|(start, _)| bson::DateTime::from_chrono(start)),
            next_end: next.map(|(_, end)| bson::DateTime::from_chrono(end)),
            upcoming_start: Upcoming::start_of(session, Timestamp::now()).map(bson::DateTime::from),
            exceptions: session
                .exceptions
                .as_slice()
                .iter()
                .map(ExceptionDocument::from)
                .collect(),
        }
    }
}

/// The `$set` of `upcomingStart`: `start`, or `null` when no occurrence is left.
pub(super) fn set_upcoming_start(start: Option<Timestamp>) -> Document {
    doc! { "upcomingStart": start.map_or(bson::Bson::Null, |start| bson::DateTime::from(start).into()) }
}

/// The `nextStart` and `nextEnd` of a recurring session at `now`: its current or next
/// occurrence, `null` when none is left.
pub(super) fn next_occurrence_fields(session: &Session, now: Timestamp) -> Document {
    let next = session.next_occurrence(now.to_chrono());
    let date = |instant: Option<chrono::DateTime<chrono::Utc>>| {
        instant.map_or(bson::Bson::Null, |instant| {
            bson::DateTime::from_chrono(instant).into()
        })
    };
    doc! {
        "nextStart": date(next.map(|(start, _)| start)),
        "nextEnd": date(next.map(|(_, end)| end)),
    }
}

impl SessionDocument {
    /// The session this document stores.
    pub(super) fn into_session(self) -> Session {
        let document = self;
        Session {
            id: document.id,
            created: document.created.into(),
            updated: document.updated.into(),
            event_id: document.event_id,
            owner_id: document.owner_id,
            room_id: document.room_id,
            prop_id: document.prop_id,
            session_type: document.session_type,
            title: document.title,
            description: document.description,
            start_date: document.start_date.into(),
            duration: document.duration,
            end_date: document.end_date.into(),
            is_recurring: document.is_recurring,
            recurrence: document.recurrence,
            time_zone: document.time_zone,
            color: document.color,
            is_valid: document.is_valid,
            invited: document.invited,
            declined: document.declined,
            joined: document.joined,
            waitlist: document.waitlist,
            pending_contacts: document.pending_contacts,
            sequence: document.sequence,
            revision: document.revision,
            version: document.version,
            // Written before the field existed: a single session is active until its end,
            // a recurring one is taken to repeat without end.
            active_until: match document.active_until {
                Some(until) => until.map(Timestamp::from),
                None if document.is_recurring => None,
                None => Some(document.end_date.into()),
            },
            event_scope: document.event_scope,
            exceptions: Exceptions::new(
                document
                    .exceptions
                    .into_iter()
                    .map(ExceptionDocument::into_exception)
                    .collect(),
            ),
        }
    }
}

/// The `$set` of an update: the fields `update` changes, as stored.
pub(super) fn set_of(update: &SessionUpdate, now: Timestamp) -> StoreResult<Document> {
    let mut set = doc! { "updated": bson::DateTime::from(now) };
    let mut put = |name: &str, value: Option<bson::Bson>| {
        if let Some(value) = value {
            set.insert(name, value);
        }
    };
    let date = |value: Option<Timestamp>| value.map(|instant| bson::DateTime::from(instant).into());
    put("roomId", update.room_id.clone().map(Into::into));
    put("propId", update.prop_id.clone().map(Into::into));
    put(
        "sessionType",
        update.session_type.map(|kind| kind.code().into()),
    );
    put("title", update.title.clone().map(Into::into));
    put("description", update.description.clone().map(Into::into));
    put("startDate", date(update.start_date));
    put("duration", update.duration.map(Into::into));
    put("endDate", date(update.end_date));
    put("isRecurring", update.is_recurring.map(Into::into));
    put(
        "recurrence",
        update
            .recurrence
            .clone()
            .map(|rule| rule.map_or(bson::Bson::Null, Into::into)),
    );
    put("timeZone", update.time_zone.map(|zone| zone.name().into()));
    put(
        "activeUntil",
        update.active_until.map(|until| {
            until.map_or(bson::Bson::Null, |until| bson::DateTime::from(until).into())
        }),
    );
    let color = match &update.color {
        Some(color) => Some(bson::to_bson(color).map_err(StoreError::unwritable)?),
        None => None,
    };
    put("color", color);
    if let Some(exceptions) = &update.exceptions {
        set.insert("exceptions", exception_documents(exceptions)?);
    }
    if let Some(upcoming) = update.upcoming_start {
        set.extend(set_upcoming_start(upcoming));
    }
    Ok(set)
}

/// `update`, also counting one more write of the session in `version`: every update of a
/// stored session goes through here, so that a process can tell which of two values of a
/// session is the newer (see `push::bus`).
pub(super) fn counted(mut update: Document) -> Document {
    match update.get_document_mut("$inc") {
        Ok(increments) => {
            increments.insert("version", 1_i64);
        }
        Err(_) => {
            update.insert("$inc", doc! { "version": 1_i64 });
        }
    }
    update
}
