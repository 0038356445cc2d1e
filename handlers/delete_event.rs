//! `social:deleteEvent`: the creator or an admin deletes an event and all its sessions;
//! each session's audience hears `social:sessionDeleted`.

use serde::Deserialize;

use crate::api::prelude::*;

/// The endpoint.
pub struct DeleteEvent;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    event_id: String,
}

impl Endpoint for DeleteEvent {
    const NAME: &'static str = "social:deleteEvent";
    type Request = Request;
    type Response = ();

    async fn handle(context: RequestContext, request: Request) -> Result<(), ApiError> {
        let visible =
            VisibleEvent::load(context.store(), &context.caller, &request.event_id).await?;
        visible.ensure_may_manage()?;
        // Sessions first, so that a failure part-way leaves the event in place for a retry;
        // then once more after the event is gone, for a session created in between.
        delete_sessions(&context, &request.event_id).await?;
        context.store().delete_event(&request.event_id).await?;
        delete_sessions(&context, &request.event_id).await
    }
}

/// Deletes the event's sessions one by one, pushing each deletion to its audience.
async fn delete_sessions(context: &RequestContext, event_id: &str) -> Result<(), ApiError> {
    let store = context.store();
    for session in store.sessions_of_event(event_id).await? {
        if store.delete_session(&session.id).await? {
            context.publish(SessionChange::deleted(&session)).await;
        }
    }
    Ok(())
}

inventory::submit! { Registration::of::<DeleteEvent>() }
