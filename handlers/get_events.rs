//! `social:getEvents`: the events of one source that the caller may see, by `startDate`
//! then `id`. Members see published events; the source's admins also see every draft,
//! other creators their own drafts. A source the caller cannot see into answers an empty
//! list, so that a private network's events are not revealed. One page at a time: at
//! most `limit` events (1 to 500, default 500); when more follow, the answer's
//! `nextCursor` is the `after` of the next page.

use serde::{Deserialize, Serialize};

use crate::api::prelude::*;

/// The endpoint.
pub struct GetEvents;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    source: Source,
    limit: Option<Limit>,
    /// The `nextCursor` of the previous page.
    after: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    events: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

impl Endpoint for GetEvents {
    const NAME: &'static str = "social:getEvents";
    const CHANGES_DATA: bool = false;
    type Request = Request;
    type Response = Response;

    fn example() -> Example {
        Example {
            request: json!({ "source": examples::SOURCE, "limit": 20 }),
            answer: json!({ "events": [examples::event(true)] }),
        }
    }

    async fn handle(context: RequestContext, request: Request) -> Result<Response, ApiError> {
        let store = context.store();
        let key = context.cursor_key();
        let scope = request.source.as_string();
        let after = Cursor::<EventList>::from_request(request.after.as_deref(), key, &scope)?;
        let access = store.access(context.me(), &request.source).await?;
        let Some(listing) = EventListing::of(&request.source, context.me(), &access) else {
            return Ok(Response {
                events: Vec::new(),
                next_cursor: None,
            });
        };
        let limit = request.limit.unwrap_or_default().get();
        let after = after.as_ref().map(Cursor::position);
        // One more than the page, to know whether more follow.
        let found = store
            .list_events(&request.source, listing, after, limit + 1)
            .await?;
        let page_limit = fitting(&found, limit);
        let found = found.into_iter().map(|stored| stored.item).collect();
        let page = Page::of::<EventList>(found, page_limit, key, &scope, |event| {
            (event.start_date, event.id.as_str())
        });
        Ok(Response {
            events: page.items,
            next_cursor: page.next,
        })
    }
}

inventory::submit! { Registration::of::<GetEvents>().described_by(include_str!("get_events.rs")) }
