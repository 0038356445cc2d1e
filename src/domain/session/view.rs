//! A session as the reference renders it: its view, its invited users, and the
//! `{"session": ...}` answer.

use serde::Serialize;

use crate::domain::ids::{EventId, SessionId, UserId};
use crate::domain::kinds::{InvitationRole, InvitationStatus, SessionKind};
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
