//! Sessions: the wire shapes shared by the session endpoints, their validation, who may
//! see and manage a session, and how sessions are rendered.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::access::{Access, Source};
use crate::endpoint::Caller;
use crate::error::{ApiError, FieldPath};
use crate::fields::{check_texts, set_if_present};
use crate::people::{UserDirectory, UserSimple};
use crate::recurrence::{Rule, Schedule};
use crate::store::Store;
use crate::store::events::{EventDocument, status};
use crate::store::sessions::{Color, SessionDocument};
use crate::time::Timestamp;

/// Values of `sessionType`.
pub mod session_type {
    pub const PUBLIC: i32 = 0;
    pub const PRIVATE: i32 = 1;
    pub const OPEN_SLOT: i32 = 2;
}

/// Values of an invitation's `role`.
pub mod role {
    pub const ATTENDEE: i32 = 0;
    pub const PRESENTER: i32 = 1;
    pub const PANELIST: i32 = 2;
}

/// Values of an invitation's `status`.
pub mod invitation_status {
    pub const PENDING: i32 = 0;
    pub const ACCEPTED: i32 = 1;
    pub const DECLINED: i32 = 2;
}

/// Longest session, in seconds: 7 days.
pub const MAX_DURATION_SECONDS: i64 = 7 * 24 * 3600;
/// The colour of a session created without one: opaque white.
pub const DEFAULT_COLOR: Color = Color {
    r: 1.0,
    g: 1.0,
    b: 1.0,
    a: 1.0,
};

/// The `session` object of `createSession` and `updateSession`. Server-owned fields
/// (`created`, `updated`, `ownerId`, `isValid`) are not read; `id` only finds the session
/// to update. `null` counts as absent.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionFields {
    pub id: Option<String>,
    pub event_id: Option<String>,
    pub room_id: Option<String>,
    pub prop_id: Option<String>,
    pub session_type: Option<i32>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub start_date: Option<Timestamp>,
    pub duration: Option<i64>,
    pub is_recurring: Option<bool>,
    /// An RRULE replacing the weekly repetition; an empty string clears it.
    pub recurrence: Option<String>,
    pub color: Option<Color>,
}

impl SessionFields {
    /// Checks each field that is present on its own; `path` is the `session` object's path.
    pub fn validate(&self, path: &FieldPath) -> Result<(), ApiError> {
        check_texts(
            path,
            &self.title,
            &self.description,
            &[
                ("eventId", &self.event_id),
                ("roomId", &self.room_id),
                ("propId", &self.prop_id),
            ],
        )?;
        if let Some(kind) = self.session_type
            && !(session_type::PUBLIC..=session_type::OPEN_SLOT).contains(&kind)
        {
            return Err(ApiError::invalid(
                path.field("sessionType"),
                "must be 0 (Public), 1 (Private) or 2 (OpenSlot)",
            ));
        }
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
    pub fn apply_to(
        &self,
        session: &mut SessionDocument,
        event: Option<&EventDocument>,
    ) -> Result<(), ApiError> {
        let path = FieldPath::data().field("session");
        set_if_present(&mut session.room_id, &self.room_id);
        set_if_present(&mut session.prop_id, &self.prop_id);
        set_if_present(&mut session.session_type, &self.session_type);
        set_if_present(&mut session.title, &self.title);
        set_if_present(&mut session.description, &self.description);
        if let Some(start) = self.start_date {
            session.start_date = start.into();
        }
        set_if_present(&mut session.duration, &self.duration);
        set_if_present(&mut session.is_recurring, &self.is_recurring);
        if let Some(rule) = &self.recurrence {
            session.recurrence = Some(rule.clone()).filter(|rule| !rule.is_empty());
        }
        set_if_present(&mut session.color, &self.color);
        session.end_date = bson::DateTime::from_millis(
            session
                .start_date
                .timestamp_millis()
                .saturating_add(session.duration.saturating_mul(1000)),
        );
        if session.room_id.is_empty() {
            return Err(ApiError::invalid(
                path.field("roomId"),
                "is required (for a session in an event, it defaults to the event's roomId)",
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
        schedule(session, event)
            .map_err(|message| ApiError::invalid(path.field("recurrence"), message))?;
        Ok(())
    }
}

/// When the session takes place; recurring sessions repeat until their event's end.
pub fn schedule(
    session: &SessionDocument,
    event: Option<&EventDocument>,
) -> Result<Schedule, String> {
    let rule = match session.recurrence.as_deref() {
        Some(text) => Some(Rule::parse(text)?),
        None => None,
    };
    let repeats = session.is_recurring.then_some(rule.as_ref());
    Schedule::new(
        Timestamp::from(session.start_date).to_chrono(),
        session.duration,
        repeats,
        event.map(|event| Timestamp::from(event.end_date).to_chrono()),
    )
}

/// What one caller may see and do with a set of sessions: their events and the caller's
/// memberships in those events' networks, loaded in two queries.
pub struct Viewer {
    pub user_id: String,
    events: HashMap<String, EventDocument>,
    access: HashMap<String, Access>,
}

impl Viewer {
    /// Loads the events of `sessions` and the caller's memberships in their networks.
    pub async fn load(
        store: &Store,
        user_id: &str,
        sessions: &[SessionDocument],
    ) -> Result<Viewer, ApiError> {
        let mut event_ids: Vec<&str> = sessions
            .iter()
            .map(|session| session.event_id.as_str())
            .filter(|id| !id.is_empty())
            .collect();
        event_ids.sort_unstable();
        event_ids.dedup();
        let events = store.find_events(&event_ids).await?;
        Self::with_events(store, user_id, events).await
    }

    /// A viewer of sessions whose events are already loaded.
    pub async fn with_events(
        store: &Store,
        user_id: &str,
        events: Vec<EventDocument>,
    ) -> Result<Viewer, ApiError> {
        let mut networks: Vec<&str> = events
            .iter()
            .map(|event| event.network_id.as_str())
            .collect();
        networks.sort_unstable();
        networks.dedup();
        let memberships = store.memberships_in_networks(user_id, &networks).await?;
        let mut by_network: HashMap<String, Vec<_>> = HashMap::new();
        for membership in memberships {
            by_network
                .entry(membership.network_id.clone())
                .or_default()
                .push(membership);
        }
        let access = by_network
            .into_iter()
            .map(|(network, memberships)| (network, Access::from_memberships(memberships)))
            .collect();
        Ok(Viewer {
            user_id: user_id.to_owned(),
            events: events
                .into_iter()
                .map(|event| (event.id.clone(), event))
                .collect(),
            access,
        })
    }

    /// The session's event, when it has one that still exists.
    pub fn event_of(&self, session: &SessionDocument) -> Option<&EventDocument> {
        self.events.get(&session.event_id)
    }

    fn source_access(&self, event: &EventDocument) -> Option<(Source, &Access)> {
        let source = Source::from_stored(&event.source_type, &event.network_id, &event.source_pk)?;
        static NO_ACCESS: std::sync::LazyLock<Access> = std::sync::LazyLock::new(Access::default);
        let access = self.access.get(&event.network_id).unwrap_or(&NO_ACCESS);
        Some((source, access))
    }

    fn is_admin_of_event_source(&self, event: &EventDocument) -> bool {
        self.source_access(event)
            .is_some_and(|(source, access)| access.is_admin_of(&source))
    }

    fn can_see_event(&self, event: &EventDocument) -> bool {
        if event.owner_id == self.user_id || self.is_admin_of_event_source(event) {
            return true;
        }
        event.status == status::PUBLISHED
            && self
                .source_access(event)
                .is_some_and(|(source, access)| access.can_see_into(&source))
    }

    /// Whether the session's event is a draft the caller does not manage.
    pub fn event_is_unpublished_for_caller(&self, session: &SessionDocument) -> bool {
        self.event_of(session).is_some_and(|event| {
            event.status != status::PUBLISHED
                && event.owner_id != self.user_id
                && !self.is_admin_of_event_source(event)
        })
    }

    /// Who sees a session: its owner, invitees (declined ones too) and participants always;
    /// for a Private session also the admins of its event's source; for a Public or
    /// OpenSlot one whoever sees its event (every signed-in user for a standalone session).
    /// A session whose event is gone is seen by nobody.
    pub fn can_see(&self, session: &SessionDocument) -> bool {
        let event = self.event_of(session);
        if !session.event_id.is_empty() && event.is_none() {
            return false;
        }
        let me = self.user_id.as_str();
        if session.owner_id == me || session.is_invited(me) || session.has_joined(me) {
            return true;
        }
        let Some(event) = event else {
            return session.session_type != session_type::PRIVATE;
        };
        if session.session_type == session_type::PRIVATE {
            self.is_admin_of_event_source(event)
        } else {
            self.can_see_event(event)
        }
    }

    /// The owner and the admins of the event's source manage a session.
    pub fn may_manage(&self, session: &SessionDocument) -> bool {
        session.owner_id == self.user_id
            || self
                .event_of(session)
                .is_some_and(|event| self.is_admin_of_event_source(event))
    }
}

/// One session and what the caller may do with it.
pub struct SessionAccess {
    pub session: SessionDocument,
    pub viewer: Viewer,
}

impl SessionAccess {
    /// Loads the session when the caller may see it; otherwise 404, exactly as for a
    /// session that does not exist.
    pub async fn load_visible(
        store: &Store,
        caller: &Caller,
        session_id: &str,
    ) -> Result<SessionAccess, ApiError> {
        let session = store
            .find_session(session_id)
            .await?
            .ok_or_else(|| ApiError::not_found("session"))?;
        let viewer = Viewer::load(store, &caller.user_id, std::slice::from_ref(&session)).await?;
        if !viewer.can_see(&session) {
            return Err(ApiError::not_found("session"));
        }
        Ok(SessionAccess { session, viewer })
    }

    /// 403 unless the caller is the owner or an admin of the event's source.
    pub fn ensure_may_manage(&self) -> Result<(), ApiError> {
        if self.viewer.may_manage(&self.session) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only the session's owner or an admin of its event's source may do this".to_owned(),
            ))
        }
    }

    pub fn event(&self) -> Option<&EventDocument> {
        self.viewer.event_of(&self.session)
    }
}

/// An invited user as the reference renders it, with the extension field `status`.
#[derive(Debug, Serialize)]
pub struct InvitedUser {
    pub user: UserSimple,
    pub role: i32,
    pub status: i32,
}

/// A session as the reference renders it. `recurrence` is an extension, present when set.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub event_id: String,
    pub owner_id: String,
    pub room_id: String,
    pub prop_id: String,
    pub session_type: i32,
    pub title: String,
    pub description: String,
    pub start_date: Timestamp,
    pub duration: i64,
    pub is_recurring: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<String>,
    pub color: Color,
    pub is_valid: bool,
    pub owner: UserSimple,
    pub invited_users: Vec<InvitedUser>,
    pub joined_users: Vec<UserSimple>,
}

/// `{"session": {...}}`, the answer of the endpoints that return one session.
#[derive(Debug, Serialize)]
pub struct SessionEnvelope {
    pub session: SessionView,
}

/// The invitation status of `user_id` in `session`.
pub fn invitation_status_of(session: &SessionDocument, user_id: &str) -> i32 {
    if session.has_joined(user_id) {
        invitation_status::ACCEPTED
    } else if session.declined.iter().any(|declined| declined == user_id) {
        invitation_status::DECLINED
    } else {
        invitation_status::PENDING
    }
}

/// Renders sessions, with every person they mention loaded in one query.
pub struct SessionRenderer {
    directory: UserDirectory,
}

impl SessionRenderer {
    /// Loads the people of `sessions`.
    pub async fn load(
        store: &Store,
        sessions: &[SessionDocument],
    ) -> Result<SessionRenderer, ApiError> {
        let mut people: Vec<&str> = Vec::new();
        for session in sessions {
            people.push(&session.owner_id);
            people.extend(
                session
                    .invited
                    .iter()
                    .map(|invitation| invitation.user_id.as_str()),
            );
            people.extend(session.joined.iter().map(String::as_str));
        }
        Ok(SessionRenderer {
            directory: UserDirectory::load(store, people).await?,
        })
    }

    /// Whether `user_id` is incognito (and so sees themselves differently from others).
    pub fn is_incognito(&self, user_id: &str) -> bool {
        self.directory
            .get(user_id)
            .is_some_and(|user| user.privacy_mode == crate::people::INCOGNITO)
    }

    /// User `user_id` as `viewer_id` sees them.
    pub fn person(&self, user_id: &str, viewer_id: &str) -> UserSimple {
        self.directory.render(user_id, viewer_id)
    }

    /// `session` as `viewer_id` sees it.
    pub fn render(&self, viewer_id: &str, session: &SessionDocument) -> SessionView {
        render_with(&self.directory, viewer_id, session)
    }
}

/// Renders sessions for `viewer_id`.
pub async fn render_sessions(
    store: &Store,
    viewer_id: &str,
    sessions: &[SessionDocument],
) -> Result<Vec<SessionView>, ApiError> {
    let renderer = SessionRenderer::load(store, sessions).await?;
    Ok(sessions
        .iter()
        .map(|session| renderer.render(viewer_id, session))
        .collect())
}

/// Renders one session for `viewer_id`.
pub async fn render_session(
    store: &Store,
    viewer_id: &str,
    session: &SessionDocument,
) -> Result<SessionEnvelope, ApiError> {
    let renderer = SessionRenderer::load(store, std::slice::from_ref(session)).await?;
    Ok(SessionEnvelope {
        session: renderer.render(viewer_id, session),
    })
}

fn render_with(
    directory: &UserDirectory,
    viewer_id: &str,
    session: &SessionDocument,
) -> SessionView {
    SessionView {
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
        is_recurring: session.is_recurring,
        recurrence: session.recurrence.clone(),
        color: session.color,
        is_valid: session.is_valid,
        owner: directory.render(&session.owner_id, viewer_id),
        invited_users: session
            .invited
            .iter()
            .map(|invitation| InvitedUser {
                user: directory.render(&invitation.user_id, viewer_id),
                role: invitation.role,
                status: invitation_status_of(session, &invitation.user_id),
            })
            .collect(),
        joined_users: session
            .joined
            .iter()
            .map(|user_id| directory.render(user_id, viewer_id))
            .collect(),
    }
}
