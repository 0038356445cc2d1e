//! `social:getEvents`: the events of one source that the caller may see, by `startDate`
//! then `id`. Members see published events; the source's admins also see every draft,
//! other creators their own drafts. A source the caller cannot see into answers an empty
//! list, so that a private network's events are not revealed.

use serde::{Deserialize, Serialize};

use crate::api::prelude::*;

/// The endpoint.
pub struct GetEvents;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    source: Source,
}

#[derive(Debug, Serialize)]
pub struct Response {
    events: Vec<Event>,
}

impl Endpoint for GetEvents {
    const NAME: &'static str = "social:getEvents";
    type Request = Request;
    type Response = Response;

    async fn handle(context: RequestContext, request: Request) -> Result<Response, ApiError> {
        let store = context.store();
        let access = store.access(context.me(), &request.source).await?;
        let events = match EventListing::of(&request.source, context.me(), &access) {
            Some(listing) => store.list_events(&request.source, listing).await?,
            None => Vec::new(),
        };
        Ok(Response { events })
    }
}

inventory::submit! { Registration::of::<GetEvents>() }
