//! `social:publishEvent`: the creator or an admin publishes a draft. Idempotent: publishing
//! a published event answers it unchanged.

use serde::Deserialize;

use crate::api::prelude::*;

/// The endpoint.
pub struct PublishEvent;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    event_id: EventId,
}

impl Endpoint for PublishEvent {
    const NAME: &'static str = "social:publishEvent";
    const CHANGES_DATA: bool = true;
    type Request = Request;
    type Response = EventEnvelope;

    fn example() -> Example {
        Example {
            request: json!({ "eventId": examples::EVENT_ID }),
            answer: json!({ "event": examples::event(true) }),
        }
    }

    async fn handle(context: RequestContext, request: Request) -> Result<EventEnvelope, ApiError> {
        let store = context.store();
        let visible = VisibleEvent::load(store, &context.caller, &request.event_id).await?;
        visible.ensure_may_manage()?;
        if visible.event.is_published() {
            return Ok(EventEnvelope {
                event: visible.event,
            });
        }
        let published = match store
            .publish_event(&request.event_id, Timestamp::now())
            .await?
        {
            Some(event) => {
                // Its sessions came into sight of the event's audience.
                context.publish_event_props(&event.id).await;
                Some(event)
            }
            // Published by someone else in the meantime, or deleted.
            None => store.find_event(&request.event_id).await?,
        };
        published
            .map(|event| EventEnvelope { event })
            .ok_or_else(|| ApiError::not_found("event"))
    }
}

inventory::submit! { Registration::of::<PublishEvent>().described_by(include_str!("publish_event.rs")) }
