//! `social:getEvent`: one event the caller may see.

use serde::Deserialize;

use crate::api::prelude::*;

/// The endpoint.
pub struct GetEvent;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    event_id: EventId,
}

impl Endpoint for GetEvent {
    const NAME: &'static str = "social:getEvent";
    const CHANGES_DATA: bool = false;
    type Request = Request;
    type Response = EventEnvelope;

    fn example() -> Example {
        Example {
            request: json!({ "eventId": examples::EVENT_ID }),
            answer: json!({ "event": examples::event(true) }),
        }
    }

    async fn handle(context: RequestContext, request: Request) -> Result<EventEnvelope, ApiError> {
        let visible =
            VisibleEvent::load(context.store(), &context.caller, &request.event_id).await?;
        Ok(EventEnvelope {
            event: visible.event,
        })
    }
}

inventory::submit! { Registration::of::<GetEvent>().described_by(include_str!("get_event.rs")) }
