//! `social:declineSessionJoin`: an invitee declines (their invitation stays listed as
//! declined) and leaves the session; a participant who was not invited leaves. Someone
//! neither invited nor joined gets 404.

use serde::Deserialize;

use crate::prelude::*;

/// The endpoint.
pub struct DeclineSessionJoin;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: String,
}

impl Validate for Request {}

impl Endpoint for DeclineSessionJoin {
    const NAME: &'static str = "social:declineSessionJoin";
    type Request = Request;
    type Response = ();

    async fn handle(context: RequestContext, request: Request) -> Result<(), ApiError> {
        let store = &context.state.store;
        let me = &*context.caller.user_id;
        let access =
            SessionAccess::load_visible(store, &context.caller, &request.session_id).await?;
        let invited = access.session.is_invited(me);
        if !invited && !access.session.has_joined(me) {
            return Err(ApiError::NotFound(
                "no invitation or participation to decline".to_owned(),
            ));
        }
        let changed = store
            .leave_session(&request.session_id, me, invited, Timestamp::now().into())
            .await?
            .ok_or_else(|| ApiError::not_found("session"))?;
        context
            .state
            .pushes
            .publish(SessionChange::updated(&changed))
            .await;
        Ok(())
    }
}

inventory::submit! { Registration::of::<DeclineSessionJoin>() }
