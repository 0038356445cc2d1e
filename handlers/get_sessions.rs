//! `social:getSessions`: the sessions of an event that the caller may see, by `startDate`
//! then `id`. An event the caller cannot see (or that does not exist) answers the sessions
//! the caller was invited to or joined, usually none.

use serde::{Deserialize, Serialize};

use crate::api::prelude::*;

/// The endpoint.
pub struct GetSessions;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    event_id: String,
}

#[derive(Debug, Serialize)]
pub struct Response {
    sessions: Vec<SessionView>,
}

impl Endpoint for GetSessions {
    const NAME: &'static str = "social:getSessions";
    type Request = Request;
    type Response = Response;

    async fn handle(context: RequestContext, request: Request) -> Result<Response, ApiError> {
        let store = context.store();
        if request.event_id.is_empty() {
            return Ok(Response {
                sessions: Vec::new(),
            });
        }
        let sessions = store.sessions_of_event(&request.event_id).await?;
        let viewer = store.viewer(context.me(), &sessions).await?;
        let visible: Vec<Session> = sessions
            .into_iter()
            .filter(|session| viewer.may_see(session))
            .collect();
        Ok(Response {
            sessions: render_sessions(store, context.me(), &visible).await?,
        })
    }
}

inventory::submit! { Registration::of::<GetSessions>() }
