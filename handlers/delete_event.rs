//! `social:deleteEvent`: the creator or an admin deletes an event and all its sessions;
//! each session's audience hears `social:sessionDeleted`.

use serde::Deserialize;

use crate::api::prelude::*;

/// The endpoint.
pub struct DeleteEvent;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    event_id: EventId,
}

impl Endpoint for DeleteEvent {
    const NAME: &'static str = "social:deleteEvent";
    const CHANGES_DATA: bool = true;
    type Request = Request;
    type Response = ();

    fn example() -> Example {
        Example {
            request: json!({ "eventId": examples::EVENT_ID }),
            answer: Value::Null,
        }
    }

    async fn handle(context: RequestContext, request: Request) -> Result<(), ApiError> {
        let visible =
            VisibleEvent::load(context.store(), &context.caller, &request.event_id).await?;
        visible.ensure_may_manage()?;
        // Crash-safe: see `app::deletion`.
        deletion::delete_event(&context.state, &request.event_id).await?;
        Ok(())
    }
}

inventory::submit! { Registration::of::<DeleteEvent>().described_by(include_str!("delete_event.rs")) }
