//! `social:getEvents`: the events of one source that the caller may see, by `startDate`
//! then `id`. Members see published events; the source's admins also see every draft,
//! other creators their own drafts. A source the caller cannot see into answers an empty
//! list, so that a private network's events are not revealed.

use serde::{Deserialize, Serialize};

use crate::prelude::*;

/// The endpoint.
pub struct GetEvents;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    source: String,
}

impl Validate for Request {
    fn validate(&self) -> Result<(), ApiError> {
        Source::parse(&self.source, &FieldPath::data().field("source")).map(drop)
    }
}

#[derive(Debug, Serialize)]
pub struct Response {
    events: Vec<EventView>,
}

impl Endpoint for GetEvents {
    const NAME: &'static str = "social:getEvents";
    type Request = Request;
    type Response = Response;

    async fn handle(context: RequestContext, request: Request) -> Result<Response, ApiError> {
        let store = &context.state.store;
        let source = Source::parse(&request.source, &FieldPath::data().field("source"))?;
        let access = Access::load(store, &context.caller.user_id, &source).await?;
        if !access.can_see_into(&source) {
            return Ok(Response { events: Vec::new() });
        }
        let listing = if access.is_admin_of(&source) {
            EventListing::All
        } else {
            EventListing::PublishedOrOwnedBy(&context.caller.user_id)
        };
        let events = store
            .list_events(
                source.network_id(),
                source.source_type(),
                source.source_pk(),
                listing,
            )
            .await?;
        Ok(Response {
            events: events.iter().map(EventView::from).collect(),
        })
    }
}

inventory::submit! { Registration::of::<GetEvents>() }
