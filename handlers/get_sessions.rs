//! `social:getSessions`: the sessions of an event that the caller may see, by `startDate`
//! then `id`. An event the caller cannot see (or that does not exist) answers the sessions
//! the caller was invited to or joined, usually none. One page at a time: at most `limit`
//! sessions (1 to 500, default 500); when more follow, the answer's `nextCursor` is the
//! `after` of the next page.

use serde::{Deserialize, Serialize};

use crate::api::prelude::*;

/// The endpoint.
pub struct GetSessions;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    event_id: EventId,
    limit: Option<Limit>,
    /// The `nextCursor` of the previous page.
    after: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    sessions: Vec<SessionView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

impl Endpoint for GetSessions {
    const NAME: &'static str = "social:getSessions";
    const CHANGES_DATA: bool = false;
    type Request = Request;
    type Response = Response;

    fn example() -> Example {
        Example {
            request: json!({ "eventId": examples::EVENT_ID, "limit": 20 }),
            answer: json!({ "sessions": [examples::session(true)] }),
        }
    }

    async fn handle(context: RequestContext, request: Request) -> Result<Response, ApiError> {
        let store = context.store();
        let key = context.cursor_key();
        let after =
            Cursor::<SessionList>::from_request(request.after.as_deref(), key, &request.event_id)?;
        if request.event_id.is_empty() {
            return Ok(Response {
                sessions: Vec::new(),
                next_cursor: None,
            });
        }
        let limit = request.limit.unwrap_or_default().get();
        // The database leaves out what the caller cannot see; the check below is exact.
        let memberships = store.memberships_of(context.me()).await?;
        let audience = Audience::of(context.me(), &memberships);
        // Batches of one more than the page (fewer when large, see `domain::page`), until
        // the page and one more visible session are found (then more follow) or the event
        // has no more sessions.
        let mut visible: Vec<Stored<Session>> = Vec::new();
        let mut after = after.as_ref().map(|after| (after.start, after.id.clone()));
        loop {
            let position = after.as_ref().map(|(start, id)| (*start, id.as_str()));
            let batch = store
                .page_of_event_sessions(&request.event_id, &audience, position, limit + 1)
                .await?;
            let exhausted = batch.len() <= fitting(&batch, limit);
            after = batch
                .last()
                .map(|last| (last.item.start_date, last.item.id.to_string()));
            let viewer = store
                .viewer_with(
                    context.me(),
                    batch.iter().map(|stored| &stored.item),
                    &memberships,
                )
                .await?;
            visible.extend(
                batch
                    .into_iter()
                    .filter(|stored| viewer.may_see(&stored.item)),
            );
            if exhausted || visible.len() > fitting(&visible, limit) {
                break;
            }
        }
        let page_limit = fitting(&visible, limit);
        let visible = visible.into_iter().map(|stored| stored.item).collect();
        let page =
            Page::of::<SessionList>(visible, page_limit, key, &request.event_id, |session| {
                (session.start_date, session.id.as_str())
            });
        Ok(Response {
            sessions: render_sessions(store, context.me(), &page.items).await?,
            next_cursor: page.next,
        })
    }
}

inventory::submit! { Registration::of::<GetSessions>().described_by(include_str!("get_sessions.rs")) }
