//! `social:updateEvent`: the creator or an admin changes the fields present in the request.
//!
//! Fields absent from the request keep their stored values; `customData` and `formSchema`,
//! when present, replace the stored value whole. Validation applies to the merged event.
//! Concurrent updates never overwrite each other's fields: each one is applied to the
//! latest stored revision.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::prelude::*;

/// How often an update is re-applied when other updates keep coming first.
const ATTEMPTS: usize = 5;

/// The endpoint.
pub struct UpdateEvent;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    event_id: String,
    #[serde(default)]
    event: EventFields,
    form_schema: Option<Map<String, Value>>,
}

impl Validate for Request {
    fn validate(&self) -> Result<(), ApiError> {
        self.event.validate(&FieldPath::data().field("event"))
    }
}

impl Endpoint for UpdateEvent {
    const NAME: &'static str = "social:updateEvent";
    type Request = Request;
    type Response = EventEnvelope;

    async fn handle(context: RequestContext, request: Request) -> Result<EventEnvelope, ApiError> {
        let store = &context.state.store;
        for _ in 0..ATTEMPTS {
            let loaded =
                EventAccess::load_visible(store, &context.caller, &request.event_id).await?;
            loaded.ensure_may_manage()?;
            let mut event = loaded.event;
            let revision = event.revision;
            request
                .event
                .apply_to(request.form_schema.as_ref(), &mut event)?;
            event.updated = Timestamp::now().into();
            if store.replace_event_at_revision(&event, revision).await? {
                return Ok(EventEnvelope::from(&event));
            }
        }
        Err(ApiError::Conflict(
            "the event is being changed by others at the same time; retry".to_owned(),
        ))
    }
}

inventory::submit! { Registration::of::<UpdateEvent>() }
