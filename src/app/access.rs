//! Loading what a caller may see: an event or a session with the domain's rules applied.
//! What is missing and what the caller may not see answer the same 404, so that the
//! existence of a hidden object is never revealed. Also renders sessions for a viewer.

use crate::domain::event::Event;
use crate::domain::ids::{Caller, EventId, SessionId, UserId};
use crate::domain::session::Session;
use crate::domain::session::view::{SessionEnvelope, SessionView};
use crate::domain::session::viewer::Viewer;
use crate::domain::source::Access;
use crate::error::ApiError;
use crate::store::Store;

/// An event the caller may see, with the caller's access to its source.
pub struct VisibleEvent {
    pub event: Event,
    pub access: Access,
    caller: Caller,
}

impl VisibleEvent {
    /// Loads the event when the caller may see it (see [`Event::may_see`]); 404 otherwise.
    pub async fn load(
        store: &Store,
        caller: &Caller,
        event_id: &EventId,
    ) -> Result<VisibleEvent, ApiError> {
        let event = store
            .find_event(event_id)
            .await?
            .ok_or_else(|| ApiError::not_found("event"))?;
        let access = store.access(&caller.user_id, &event.source).await?;
        if !event.may_see(&caller.user_id, &access) {
            return Err(ApiError::not_found("event"));
        }
        Ok(VisibleEvent {
            event,
            access,
            caller: caller.clone(),
        })
    }

    /// 403 unless the caller may manage the event.
    pub fn ensure_may_manage(&self) -> Result<(), ApiError> {
        self.event
            .ensure_may_manage(&self.caller.user_id, &self.access)
    }
}

/// A session the caller may see, with what the caller may do with it.
pub struct VisibleSession {
    pub session: Session,
    pub viewer: Viewer,
}

impl VisibleSession {
    /// Loads the session when the caller may see it (see [`Viewer::may_see`]); 404
    /// otherwise, exactly as for a session that does not exist.
    pub async fn load(
        store: &Store,
        caller: &Caller,
        session_id: &SessionId,
    ) -> Result<VisibleSession, ApiError> {
        let session = store
            .find_session(session_id)
            .await?
            .ok_or_else(|| ApiError::not_found("session"))?;
        let viewer = store
            .viewer(&caller.user_id, std::slice::from_ref(&session))
            .await?;
        if !viewer.may_see(&session) {
            return Err(ApiError::not_found("session"));
        }
        Ok(VisibleSession { session, viewer })
    }

    /// 403 unless the caller is the owner or an admin of the event's source.
    pub fn ensure_may_manage(&self) -> Result<(), ApiError> {
        self.viewer.ensure_may_manage(&self.session)
    }

    /// The session's event, when it has one.
    pub fn event(&self) -> Option<&Event> {
        self.viewer.event_of(&self.session)
    }
}

/// Renders sessions for `viewer_id`, with every person they mention loaded in one query.
pub async fn render_sessions(
    store: &Store,
    viewer_id: &UserId,
    sessions: &[Session],
) -> Result<Vec<SessionView>, ApiError> {
    let people = store
        .people(sessions.iter().flat_map(Session::people))
        .await?;
    Ok(sessions
        .iter()
        .map(|session| SessionView::render(session, &people, viewer_id))
        .collect())
}

/// Renders one session for `viewer_id`.
pub async fn render_session(
    store: &Store,
    viewer_id: &UserId,
    session: &Session,
) -> Result<SessionEnvelope, ApiError> {
    let people = store.people(session.people()).await?;
    Ok(SessionEnvelope {
        session: SessionView::render(session, &people, viewer_id),
    })
}
