//! `social:getSession`: one session the caller may see.

use serde::Deserialize;

use crate::prelude::*;

/// The endpoint.
pub struct GetSession;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: String,
}

impl Validate for Request {}

impl Endpoint for GetSession {
    const NAME: &'static str = "social:getSession";
    type Request = Request;
    type Response = SessionEnvelope;

    async fn handle(
        context: RequestContext,
        request: Request,
    ) -> Result<SessionEnvelope, ApiError> {
        let store = &context.state.store;
        let access =
            SessionAccess::load_visible(store, &context.caller, &request.session_id).await?;
        render_session(store, &context.caller.user_id, &access.session).await
    }
}

inventory::submit! { Registration::of::<GetSession>() }
