//! `social:deleteSession`: the owner or an admin of the event's source deletes a session;
//! its audience hears of it with `social:sessionDeleted`.

use serde::Deserialize;

use crate::api::prelude::*;

/// The endpoint.
pub struct DeleteSession;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    session_id: SessionId,
}

impl Endpoint for DeleteSession {
    const NAME: &'static str = "social:deleteSession";
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
        let visible = VisibleSession::load(store, &context.caller, &request.session_id).await?;
        visible.ensure_may_manage()?;
        if !store.delete_session(&request.session_id).await? {
            return Err(ApiError::not_found("session"));
        }
        context
            .publish(SessionChange::deleted(&visible.session))
            .await;
        Ok(())
    }
}

inventory::submit! { Registration::of::<DeleteSession>().described_by(include_str!("delete_session.rs")) }
