//! `social:joinSession`: the caller joins a session. Public: anyone who can see it.
//! Private: invitees only (others get 404). OpenSlot: anyone who can see it while the one
//! slot besides the owner is free. The event's `participantLimit` caps the participants.
//! Joining twice, or joining one's own session, changes nothing. Joining accepts an
//! invitation, a declined one too.
//!
//! Waitlist (extension): with `"waitlist": true`, joining a full session succeeds with
//! `{"waitlisted": true, "position": N}` (the caller's 1-based rank among those waiting;
//! asking again answers the current rank) instead of a 409; the first waitlisted user who
//! may still join takes the next seat that frees. The rules hold however many clients
//! join, and whatever else changes, at the same moment.

use serde::{Deserialize, Serialize};

use crate::api::prelude::*;

/// How often a join is retried when the session changed between reading and joining.
const ATTEMPTS: usize = 20;

/// The endpoint.
pub struct JoinSession;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: SessionId,
    /// Extension: wait for a seat when the session is full, instead of a 409.
    #[serde(default)]
    waitlist: bool,
}

/// The answer of a join that waits for a seat; a join that took a seat has no `data`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Waitlisted {
    /// Always true.
    waitlisted: bool,
    /// The caller's 1-based rank among those waiting.
    #[schemars(range(min = 1))]
    position: u64,
}

/// What one attempt came to.
enum Joined {
    /// Took a seat: the session after the change.
    Seat(Box<Session>),
    /// Waits for a seat at this rank, already.
    Waiting(u64),
    /// Waits for a seat at this rank from now on, at this prop.
    StartedWaiting(u64, Prop),
    /// Nothing changed (joined already, or the owner).
    Already,
}

impl Joined {
    /// Whether the attempt wrote (see `change_visible_session`).
    fn wrote(&self) -> bool {
        matches!(self, Joined::Seat(_) | Joined::StartedWaiting(..))
    }
}

impl Endpoint for JoinSession {
    const NAME: &'static str = "social:joinSession";
    const CHANGES_DATA: bool = true;
    type Request = Request;
    type Response = Option<Waitlisted>;

    fn example() -> Example {
        Example {
            request: json!({ "sessionId": examples::SESSION_ID }),
            answer: Value::Null,
        }
    }

    /// The capacity check, the session type, its validity and (for a Private session) the
    /// invitation are part of the atomic update's filter, so the rules hold however many
    /// clients join, and whatever else changes, at the same moment.
    async fn handle(
        context: RequestContext,
        request: Request,
    ) -> Result<Option<Waitlisted>, ApiError> {
        let store = context.store();
        let (context, request) = (&context, &request);
        let me = context.me();
        let joined = change_visible_session(
            ATTEMPTS,
            store,
            &context.caller,
            &request.session_id,
            Joined::wrote,
            |visible| async move {
                let session = &visible.session;
                if session.owner_id == me.as_str() {
                    return Ok(Attempt::Done(Joined::Already));
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
                    return Ok(Attempt::Done(Joined::Already));
                }
                let capacity =
                    session.capacity(visible.event().map(|event| event.participant_limit));
                // A free seat belongs to those waiting, first come first (also when the limit
                // was raised): seat them, then decide again.
                if !session.is_full(capacity) && !session.waitlist.is_empty() {
                    waitlist::fill_free_seats(context, &session.id).await?;
                    return Ok(Attempt::Stale);
                }
                if let Some(position) = session.waitlist_position(me) {
                    return Ok(Attempt::Done(Joined::Waiting(position)));
                }
                let condition = JoinCondition {
                    capacity,
                    session_type: session.session_type,
                    invitation_required: private,
                };
                if session.is_full(capacity) && request.waitlist {
                    // `None`: a seat freed, or the session changed; decide again.
                    let waiting = store.wait_for_seat(&session.id, me, condition).await?;
                    return Ok(
                        match waiting.and_then(|after| after.waitlist_position(me)) {
                            Some(position) => {
                                Attempt::Done(Joined::StartedWaiting(position, session.prop()))
                            }
                            None => Attempt::Stale,
                        },
                    );
                }
                if session.is_full(capacity) {
                    return Err(ApiError::Conflict(
                        if session.session_type == SessionKind::OpenSlot {
                            "the open slot is already taken"
                        } else {
                            "the session is full"
                        }
                        .to_owned(),
                    ));
                }
                // `None`: the session changed between reading and joining; decide again.
                let joined = store
                    .join_session(&session.id, me, condition, Timestamp::now())
                    .await?;
                Ok(joined.map_or(Attempt::Stale, |joined| {
                    Attempt::Done(Joined::Seat(Box::new(joined)))
                }))
            },
        )
        .await?
        .ok_or_else(|| ApiError::Contended("the session is changing too fast; retry".to_owned()))?;
        match joined {
            Joined::Seat(joined) => {
                context.publish(SessionChange::updated(&joined)).await;
                Ok(None)
            }
            Joined::StartedWaiting(position, prop) => {
                // Those waiting see their rank, also on the prop's board.
                context.publish_props(vec![prop]).await;
                Ok(Some(Waitlisted {
                    waitlisted: true,
                    position,
                }))
            }
            Joined::Waiting(position) => Ok(Some(Waitlisted {
                waitlisted: true,
                position,
            })),
            Joined::Already => Ok(None),
        }
    }
}

inventory::submit! { Registration::of::<JoinSession>().described_by(include_str!("join_session.rs")) }
