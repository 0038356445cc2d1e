//! `social:getSession`: one session the caller may see.

use serde::Deserialize;

use crate::api::prelude::*;

/// The endpoint.
pub struct GetSession;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: SessionId,
}

impl Endpoint for GetSession {
    const NAME: &'static str = "social:getSession";
    const CHANGES_DATA: bool = false;
    type Request = Request;
    type Response = SessionEnvelope;

    fn example() -> Example {
        Example {
            request: json!({ "sessionId": examples::SESSION_ID }),
            answer: json!({ "session": examples::session(true) }),
        }
    }

    async fn handle(
        context: RequestContext,
        request: Request,
    ) -> Result<SessionEnvelope, ApiError> {
        let store = context.store();
        let visible = VisibleSession::load(store, &context.caller, &request.session_id).await?;
        render_session(store, context.me(), &visible.session).await
    }
}

inventory::submit! { Registration::of::<GetSession>().described_by(include_str!("get_session.rs")) }
