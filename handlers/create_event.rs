//! `social:createEvent`: an admin of a network or community creates a draft event in it.
//!
//! `formSchema` may be sent inside `event` or beside it (where the reference shows it);
//! sent in both places it must be the same object.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::api::prelude::*;

/// The endpoint.
pub struct CreateEvent;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    source: Source,
    #[schemars(with = "Creating<EventFields>")]
    event: EventFields,
    form_schema: Option<Map<String, Value>>,
}

impl Endpoint for CreateEvent {
    const NAME: &'static str = "social:createEvent";
    const CHANGES_DATA: bool = true;
    type Request = Request;
    type Response = EventEnvelope;

    fn example() -> Example {
        Example {
            request: json!({ "source": examples::SOURCE, "event": examples::event_fields() }),
            answer: json!({ "event": examples::event(false) }),
        }
    }

    fn validate(request: &Request) -> Result<(), ApiError> {
        let event = &request.event;
        event.validate(request.form_schema.as_ref())?;
        event.require_complete()
    }

    async fn handle(context: RequestContext, request: Request) -> Result<EventEnvelope, ApiError> {
        let store = context.store();
        let access = store.access(context.me(), &request.source).await?;
        if !access.is_admin_of(&request.source) {
            return Err(ApiError::Forbidden(
                "only an admin of the source may create events in it".to_owned(),
            ));
        }
        let mut event = Event::draft(new_id(), context.me(), request.source, Timestamp::now());
        request
            .event
            .apply_to(request.form_schema.as_ref(), &mut event)?;
        store.insert_event(&event).await?;
        Ok(EventEnvelope { event })
    }
}

inventory::submit! { Registration::of::<CreateEvent>().described_by(include_str!("create_event.rs")) }
