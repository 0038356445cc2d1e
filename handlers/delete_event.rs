//! `social:deleteEvent`: the creator or an admin deletes an event and all its sessions.

use serde::Deserialize;

use crate::prelude::*;

/// The endpoint.
pub struct DeleteEvent;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    event_id: String,
}

impl Validate for Request {}

impl Endpoint for DeleteEvent {
    const NAME: &'static str = "social:deleteEvent";
    type Request = Request;
    type Response = ();

    async fn handle(context: RequestContext, request: Request) -> Result<(), ApiError> {
        let store = &context.state.store;
        let loaded = EventAccess::load_visible(store, &context.caller, &request.event_id).await?;
        loaded.ensure_may_manage()?;
        // Sessions first, so that a failure part-way leaves the event in place for a retry;
        // then once more after the event is gone, for a session created in between.
        store.delete_sessions_of_event(&request.event_id).await?;
        store.delete_event(&request.event_id).await?;
        store.delete_sessions_of_event(&request.event_id).await?;
        Ok(())
    }
}

inventory::submit! { Registration::of::<DeleteEvent>() }
