//! Loading what a caller may see: an event or a session with the domain's rules applied.
//! What is missing and what the caller may not see answer the same 404, so that the
//! existence of a hidden object is never revealed. Also renders sessions for a viewer.

use crate::domain::event::Event;
use crate::domain::ids::{Caller, EventId, SessionId, UserId};
use crate::domain::retry::Attempt;
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

/// Where [`VisibleSession::load_for_write`] found a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loaded {
    /// Read from the database just now.
    Read,
    /// As this process's last write of it left it: possibly stale.
    Recent,
}

/// Changes a session the caller may see, with at most `attempts` attempts as
/// [`retry_stale`](crate::domain::retry::retry_stale) makes them: the first starts from this process's last write of the
/// session when that is a few seconds old at most (no read; see `store::recent`), the
/// others from a read. An outcome decided from such a recent value stands only when it is
/// a conditional write that took place (`wrote`): a refusal, "nothing to do", or a write
/// whose condition no longer held is decided again from a read — a recent value may be
/// stale, so it never answers a client by itself.
pub async fn change_visible_session<T, F, Fut>(
    attempts: usize,
    store: &Store,
    caller: &Caller,
    session_id: &SessionId,
    wrote: impl Fn(&T) -> bool,
    mut attempt: F,
) -> Result<Option<T>, ApiError>
where
    F: FnMut(VisibleSession) -> Fut,
    Fut: Future<Output = Result<Attempt<T>, ApiError>>,
{
    let mut may_use_recent = true;
    for _ in 0..attempts {
        let (visible, loaded) = VisibleSession::load_for_write(
            store,
            caller,
            session_id,
            std::mem::take(&mut may_use_recent),
        )
        .await?;
        let outcome = attempt(visible).await;
        let stands = match (loaded, &outcome) {
            (Loaded::Read, _) => true,
            (Loaded::Recent, Ok(Attempt::Done(done))) => wrote(done),
            (Loaded::Recent, _) => false,
        };
        if stands && let Attempt::Done(done) = outcome? {
            return Ok(Some(done));
        }
    }
    Ok(None)
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

    /// Loads the session to change it: when `may_use_recent`, as this process's last write
    /// of it left it a few seconds ago, if it did and the caller may see that value (no
    /// round trip; see `store::recent`), otherwise as [`VisibleSession::load`] reads it;
    /// answers which (see [`change_visible_session`]).
    async fn load_for_write(
        store: &Store,
        caller: &Caller,
        session_id: &SessionId,
        may_use_recent: bool,
    ) -> Result<(VisibleSession, Loaded), ApiError> {
        if let Some(session) = store.recent_session(session_id).filter(|_| may_use_recent) {
            let viewer = store
                .viewer(&caller.user_id, std::slice::from_ref(&session))
                .await?;
            if viewer.may_see(&session) {
                return Ok((VisibleSession { session, viewer }, Loaded::Recent));
            }
        }
        let visible = VisibleSession::load(store, caller, session_id).await?;
        Ok((visible, Loaded::Read))
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
