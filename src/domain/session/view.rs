//! A session as the reference renders it: its view, its invited users, and the
//! `{"session": ...}` answer.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::ids::{EventId, SessionId, UserId};
use crate::domain::kinds::{InvitationRole, InvitationStatus, SessionKind};
use crate::domain::occurrences::Exception;
use crate::domain::people::{People, UserSimple};
use crate::domain::time::Timestamp;
use crate::domain::zone::TimeZone;

use super::{Color, Session};

/// An invited user as the reference renders it, with the extension field `status`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InvitedUser {
    pub user: UserSimple,
    pub role: InvitationRole,
    pub status: InvitationStatus,
}

/// An occurrence of a recurring session cancelled, or changed, named by its original
/// start (`occurrence`, ISO 8601 in UTC).
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ExceptionView {
    Cancelled(CancelledOccurrence),
    Changed(ChangedOccurrence),
}

/// An occurrence that does not take place.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CancelledOccurrence {
    /// The occurrence's original start, ISO 8601 in UTC.
    pub occurrence: String,
    /// Always true.
    pub cancelled: bool,
}

/// An occurrence that takes place as changed.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangedOccurrence {
    /// The occurrence's original start, ISO 8601 in UTC.
    pub occurrence: String,
    pub start_date: Timestamp,
    pub duration: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ExceptionView {
    fn of(exception: &Exception) -> ExceptionView {
        let named = |occurrence: &DateTime<Utc>| occurrence_name(*occurrence);
        match exception {
            Exception::Cancelled { occurrence } => ExceptionView::Cancelled(CancelledOccurrence {
                occurrence: named(occurrence),
                cancelled: true,
            }),
            Exception::Changed {
                occurrence,
                start,
                duration,
                title,
                description,
            } => ExceptionView::Changed(ChangedOccurrence {
                occurrence: named(occurrence),
                start_date: Timestamp::saturating_from_millis(start.timestamp_millis()),
                duration: *duration,
                title: title.clone(),
                description: description.clone(),
            }),
        }
    }
}

/// How an occurrence is named: its original start, ISO 8601 in UTC, to the millisecond
/// only when it has one (`2030-03-31T07:00:00Z`).
pub fn occurrence_name(occurrence: DateTime<Utc>) -> String {
    occurrence.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A session as the reference renders it. `recurrence` is an extension, present when set.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "Session")]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: SessionId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub event_id: EventId,
    pub owner_id: String,
    pub room_id: String,
    pub prop_id: String,
    pub session_type: SessionKind,
    pub title: String,
    pub description: String,
    pub start_date: Timestamp,
    pub duration: i64,
    pub is_recurring: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<String>,
    /// Extension: the session's time zone, `UTC` unless it names one.
    pub time_zone: TimeZone,
    pub color: Color,
    pub is_valid: bool,
    pub owner: UserSimple,
    pub invited_users: Vec<InvitedUser>,
    pub joined_users: Vec<UserSimple>,
    /// Extension, on recurring sessions: occurrences cancelled or changed one by one
    /// (`social:cancelOccurrence`, `social:updateOccurrence`), sorted by occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exceptions: Option<Vec<ExceptionView>>,
    /// Extension: grows with every change to the session (a join, an invitation, an
    /// update): of two views of one session — an answer and a push that crossed it — the
    /// one with the larger `version` is the newer.
    pub version: i64,
    /// Extension: the viewer's rank among those waiting for a seat, when waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<u64>,
}

impl SessionView {
    /// `session` as `viewer_id` sees it, with its people from `people`.
    pub fn render(session: &Session, people: &People, viewer_id: &UserId) -> SessionView {
        SessionView {
            id: session.id.clone(),
            created: session.created,
            updated: session.updated,
            event_id: session.event_id.clone(),
            owner_id: session.owner_id.clone(),
            room_id: session.room_id.clone(),
            prop_id: session.prop_id.clone(),
            session_type: session.session_type,
            title: session.title.clone(),
            description: session.description.clone(),
            start_date: session.start_date,
            duration: session.duration,
            is_recurring: session.is_recurring,
            recurrence: session.recurrence.clone(),
            time_zone: session.time_zone,
            color: session.color,
            is_valid: session.is_valid,
            owner: people.render(&session.owner_id, viewer_id),
            invited_users: session
                .invited
                .iter()
                .map(|invitation| InvitedUser {
                    user: people.render(&invitation.user_id, viewer_id),
                    role: invitation.role,
                    status: session.invitation_status_of(&invitation.user_id),
                })
                .collect(),
            joined_users: session
                .joined
                .iter()
                .map(|user_id| people.render(user_id, viewer_id))
                .collect(),
            exceptions: session.is_recurring.then(|| {
                session
                    .exceptions
                    .as_slice()
                    .iter()
                    .map(ExceptionView::of)
                    .collect()
            }),
            version: session.version,
            waitlist_position: session.waitlist_position(viewer_id),
        }
    }
}

/// `{"session": {...}}`, the answer of the endpoints that return one session.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SessionEnvelope {
    pub session: SessionView,
}
