//! `social:joinSession`: the caller joins a session. Public: anyone who can see it.
//! Private: invitees only (others get 404). OpenSlot: anyone who can see it while the one
//! slot besides the owner is free. The event's `participantLimit` caps the participants.
//! Joining twice, or joining one's own session, changes nothing. Joining accepts an
//! invitation, a declined one too.
//!
//! The capacity check, the session type, its validity and (for a Private session) the
//! invitation are part of the atomic update's filter, so the rules hold however many
//! clients join, and whatever else changes, at the same moment.

use std::num::NonZeroU64;

use serde::Deserialize;

use crate::prelude::*;
use crate::store::sessions::JoinCondition;

/// How often a join is retried when the session changed between reading and joining.
const ATTEMPTS: usize = 20;

/// The endpoint.
pub struct JoinSession;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: String,
}

impl Validate for Request {}

impl Endpoint for JoinSession {
    const NAME: &'static str = "social:joinSession";
    type Request = Request;
    type Response = ();

    async fn handle(context: RequestContext, request: Request) -> Result<(), ApiError> {
        let store = &context.state.store;
        let me = &*context.caller.user_id;
        for _ in 0..ATTEMPTS {
            let access =
                SessionAccess::load_visible(store, &context.caller, &request.session_id).await?;
            let session = &access.session;
            if session.owner_id == me {
                return Ok(());
            }
            let private = session.session_type == session_type::PRIVATE;
            if private && !session.is_invited(me) {
                return Err(ApiError::not_found("session"));
            }
            if !session.is_valid {
                return Err(ApiError::Conflict(
                    "the session's room or prop no longer exists".to_owned(),
                ));
            }
            if access.viewer.event_is_unpublished_for_caller(session) {
                return Err(ApiError::Conflict("the event is not published".to_owned()));
            }
            if session.has_joined(me) {
                return Ok(());
            }
            let capacity = capacity(session, access.event().map(|event| event.participant_limit));
            if let Some(capacity) = capacity
                && session.joined.len() as u64 >= capacity.get()
            {
                return Err(ApiError::Conflict(
                    if session.session_type == session_type::OPEN_SLOT {
                        "the open slot is already taken"
                    } else {
                        "the session is full"
                    }
                    .to_owned(),
                ));
            }
            let condition = JoinCondition {
                capacity,
                session_type: session.session_type,
                invitation_required: private,
            };
            let now = Timestamp::now().into();
            if let Some(joined) = store.join_session(&session.id, me, condition, now).await? {
                context
                    .state
                    .pushes
                    .publish(SessionChange::updated(&joined))
                    .await;
                return Ok(());
            }
            // The session changed between reading and joining: decide again.
        }
        Err(ApiError::Conflict(
            "the session is changing too fast; retry".to_owned(),
        ))
    }
}

/// Most participants besides the owner: one for an OpenSlot, else the event's limit
/// (0 = no limit).
fn capacity(session: &SessionDocument, participant_limit: Option<i64>) -> Option<NonZeroU64> {
    let limit = participant_limit
        .and_then(|limit| u64::try_from(limit).ok())
        .and_then(NonZeroU64::new);
    if session.session_type == session_type::OPEN_SLOT {
        return Some(NonZeroU64::MIN);
    }
    limit
}

inventory::submit! { Registration::of::<JoinSession>() }
