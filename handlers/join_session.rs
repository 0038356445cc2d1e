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

use crate::api::prelude::*;

/// How often a join is retried when the session changed between reading and joining.
const ATTEMPTS: usize = 20;

/// The endpoint.
pub struct JoinSession;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: String,
}

impl Endpoint for JoinSession {
    const NAME: &'static str = "social:joinSession";
    type Request = Request;
    type Response = ();

    fn example() -> Example {
        Example {
            request: json!({ "sessionId": examples::SESSION_ID }),
            answer: Value::Null,
        }
    }

    async fn handle(context: RequestContext, request: Request) -> Result<(), ApiError> {
        let store = context.store();
        let (context, request) = (&context, &request);
        let me = context.me();
        let joined = retry_stale(ATTEMPTS, || async move {
            let visible = VisibleSession::load(store, &context.caller, &request.session_id).await?;
            let session = &visible.session;
            if session.owner_id == me {
                return Ok(Attempt::Done(None));
            }
            let private = session.session_type == SessionKind::Private;
            if private && !session.is_invited(me) {
                return Err(ApiError::not_found("session"));
            }
            if !session.is_valid {
                return Err(ApiError::Conflict(
                    "the session's room or prop no longer exists".to_owned(),
                ));
            }
            if visible.viewer.event_is_unpublished_for_user(session) {
                return Err(ApiError::Conflict("the event is not published".to_owned()));
            }
            if session.has_joined(me) {
                return Ok(Attempt::Done(None));
            }
            let capacity = capacity(
                session,
                visible.event().map(|event| event.participant_limit),
            );
            if let Some(capacity) = capacity
                && session.joined.len() as u64 >= capacity.get()
            {
                return Err(ApiError::Conflict(
                    if session.session_type == SessionKind::OpenSlot {
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
            // `None`: the session changed between reading and joining; decide again.
            let joined = store
                .join_session(&session.id, me, condition, Timestamp::now())
                .await?;
            Ok(joined.map_or(Attempt::Stale, |joined| Attempt::Done(Some(joined))))
        })
        .await?
        .ok_or_else(|| ApiError::Conflict("the session is changing too fast; retry".to_owned()))?;
        if let Some(joined) = joined {
            context.publish(SessionChange::updated(&joined)).await;
        }
        Ok(())
    }
}

/// Most participants besides the owner: one for an OpenSlot, else the event's limit
/// (0 = no limit).
fn capacity(session: &Session, participant_limit: Option<i64>) -> Option<NonZeroU64> {
    if session.session_type == SessionKind::OpenSlot {
        return Some(NonZeroU64::MIN);
    }
    participant_limit
        .and_then(|limit| u64::try_from(limit).ok())
        .and_then(NonZeroU64::new)
}

inventory::submit! { Registration::of::<JoinSession>().described_by(include_str!("join_session.rs")) }
