//! `social:declineSessionJoin`: an invitee declines (their invitation stays listed as
//! declined) and leaves the session; a participant who was not invited leaves; a user on
//! the waitlist leaves it, whether or not they may still see the session. Someone
//! neither invited, joined nor waiting gets 404. A seat
//! that frees goes to the first waitlisted user who may still join.

use serde::Deserialize;

use crate::api::prelude::*;

/// The endpoint.
pub struct DeclineSessionJoin;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: SessionId,
}

impl Endpoint for DeclineSessionJoin {
    const NAME: &'static str = "social:declineSessionJoin";
    const CHANGES_DATA: bool = true;
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
        let me = context.me();
        // Whoever waits for a seat may always leave, seeing the session or not (it became
        // Private, their membership went).
        let session = match store.find_session(&request.session_id).await? {
            Some(session) if session.waitlist_position(me).is_some() => session,
            _ => {
                VisibleSession::load(store, &context.caller, &request.session_id)
                    .await?
                    .session
            }
        };
        let invited = session.is_invited(me);
        let had_seat = session.has_joined(me);
        let waiting = session.waitlist_position(me).is_some();
        if !invited && !had_seat && !waiting {
            return Err(ApiError::NotFound(
                "no invitation or participation to decline".to_owned(),
            ));
        }
        let changed = store
            .leave_session(&request.session_id, me, invited, Timestamp::now())
            .await?
            .ok_or_else(|| ApiError::not_found("session"))?;
        context.publish(SessionChange::updated(&changed)).await;
        if had_seat {
            waitlist::after_seats_freed(&context, &request.session_id).await;
        }
        Ok(())
    }
}

inventory::submit! { Registration::of::<DeclineSessionJoin>().described_by(include_str!("decline_session_join.rs")) }
