//! `social:updateEvent`: the creator or an admin changes the fields present in the request.
//!
//! Fields absent from the request keep their stored values; `customData` and `formSchema`,
//! when present, replace the stored value whole (`formSchema` inside `event` or beside it,
//! the same object when in both). Validation applies to the merged event.
//! Concurrent updates never overwrite each other's fields: each one is applied to the
//! latest stored revision.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::api::prelude::*;

/// How often an update is re-applied when other updates keep coming first.
const ATTEMPTS: usize = 5;

/// The endpoint.
pub struct UpdateEvent;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    event_id: EventId,
    #[serde(default)]
    event: EventFields,
    form_schema: Option<Map<String, Value>>,
}

impl Endpoint for UpdateEvent {
    const NAME: &'static str = "social:updateEvent";
    const CHANGES_DATA: bool = true;
    type Request = Request;
    type Response = EventEnvelope;

    fn example() -> Example {
        Example {
            request: json!({
                "eventId": examples::EVENT_ID,
                "event": { "description": "The spring release, live on the main stage." },
            }),
            answer: json!({ "event": examples::event(false) }),
        }
    }

    fn validate(request: &Request) -> Result<(), ApiError> {
        request.event.validate(request.form_schema.as_ref())
    }

    async fn handle(context: RequestContext, request: Request) -> Result<EventEnvelope, ApiError> {
        let store = context.store();
        let (context, request) = (&context, &request);
        retry_stale(ATTEMPTS, || async move {
            let visible = VisibleEvent::load(store, &context.caller, &request.event_id).await?;
            visible.ensure_may_manage()?;
            let mut event = visible.event;
            let stored_end = event.end_date;
            request
                .event
                .apply_to(request.form_schema.as_ref(), &mut event)?;
            event.updated = Timestamp::now();
            if !store.replace_event_at_revision(&event).await? {
                return Ok(Attempt::Stale);
            }
            if event.end_date != stored_end {
                // Recurring sessions repeat until the event's end: theirs moved with it.
                store.refresh_session_ends(&event).await?;
                context.publish_event_props(&event.id).await;
            }
            Ok::<_, ApiError>(Attempt::Done(EventEnvelope { event }))
        })
        .await?
        .ok_or_else(|| ApiError::busy("the event"))
    }
}

inventory::submit! { Registration::of::<UpdateEvent>().described_by(include_str!("update_event.rs")) }
