//! `social:publishEvent`: the creator or an admin publishes a draft. Idempotent: publishing
//! a published event answers it unchanged.

use serde::Deserialize;

use crate::prelude::*;

/// The endpoint.
pub struct PublishEvent;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    event_id: String,
}

impl Validate for Request {}

impl Endpoint for PublishEvent {
    const NAME: &'static str = "social:publishEvent";
    type Request = Request;
    type Response = EventEnvelope;

    async fn handle(context: RequestContext, request: Request) -> Result<EventEnvelope, ApiError> {
        let store = &context.state.store;
        let loaded = EventAccess::load_visible(store, &context.caller, &request.event_id).await?;
        loaded.ensure_may_manage()?;
        if loaded.event.status == status::PUBLISHED {
            return Ok(EventEnvelope::from(&loaded.event));
        }
        let now = Timestamp::now().into();
        let published = match store.publish_event(&request.event_id, now).await? {
            Some(event) => Some(event),
            // Published by someone else in the meantime, or deleted.
            None => store.find_event(&request.event_id).await?,
        };
        published
            .map(|event| EventEnvelope::from(&event))
            .ok_or_else(|| ApiError::not_found("event"))
    }
}

inventory::submit! { Registration::of::<PublishEvent>() }
