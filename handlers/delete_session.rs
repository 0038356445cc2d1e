//! `social:deleteSession`: the owner or an admin of the event's source deletes a session;
//! its audience hears of it with `social:sessionDeleted`.

use serde::Deserialize;

use crate::prelude::*;

/// The endpoint.
pub struct DeleteSession;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: String,
}

impl Validate for Request {}

impl Endpoint for DeleteSession {
    const NAME: &'static str = "social:deleteSession";
    type Request = Request;
    type Response = ();

    async fn handle(context: RequestContext, request: Request) -> Result<(), ApiError> {
        let store = &context.state.store;
        let access =
            SessionAccess::load_visible(store, &context.caller, &request.session_id).await?;
        access.ensure_may_manage()?;
        if !store.delete_session(&request.session_id).await? {
            return Err(ApiError::not_found("session"));
        }
        context
            .state
            .pushes
            .publish(SessionChange::deleted(&access.session))
            .await;
        Ok(())
    }
}

inventory::submit! { Registration::of::<DeleteSession>() }
