//! The calendar invitation of a session for
//! `GET /api/v0/resource/sessionInvitation/{sessionId}`: the session as the caller may
//! see it, as a calendar file (built by [`crate::ics`]).

use chrono::Utc;

use super::state::ServerState;
use crate::app::access::VisibleSession;
use crate::domain::ids::{Caller, SessionId};
use crate::error::ApiError;
use crate::ics::{Recipient, invitation};

/// The calendar file of session `session_id` as `caller` sees it.
pub async fn render(
    state: &ServerState,
    caller: &Caller,
    session_id: &SessionId,
) -> Result<String, ApiError> {
    let store = &state.app.store;
    let visible = VisibleSession::load(store, caller, session_id).await?;
    let people = store.people(visible.session.people()).await?;
    let reminder = store.reminder_setting(caller.user_id.as_str()).await?;
    let recipient = Recipient {
        user_id: &caller.user_id,
        reminder,
    };
    Ok(invitation(
        &visible.session,
        visible.event(),
        &people,
        recipient,
        &state.settings.public_url,
        Utc::now(),
    ))
}
