//! `social:getEvent`: one event the caller may see.

use serde::Deserialize;

use crate::prelude::*;

/// The endpoint.
pub struct GetEvent;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    event_id: String,
}

impl Validate for Request {}

impl Endpoint for GetEvent {
    const NAME: &'static str = "social:getEvent";
    type Request = Request;
    type Response = EventEnvelope;

    async fn handle(context: RequestContext, request: Request) -> Result<EventEnvelope, ApiError> {
        let loaded =
            EventAccess::load_visible(&context.state.store, &context.caller, &request.event_id)
                .await?;
        Ok(EventEnvelope::from(&loaded.event))
    }
}

inventory::submit! { Registration::of::<GetEvent>() }
