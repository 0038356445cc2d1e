//! `social:getCalendarFeed` (extension): the URL of the caller's calendar feed, for
//! calendar apps to subscribe to with no other credential. The same URL comes back on
//! every call until `social:rotateCalendarFeed`. The feed (`GET` the URL) lists every
//! session the caller owns, is invited to (not declined) or joined, as `METHOD:PUBLISH`
//! with the same UID and SEQUENCE as the invitation files; a session that leaves it stays
//! in it as `STATUS:CANCELLED` for 30 days.

use serde::{Deserialize, Serialize};

use crate::api::prelude::*;

/// The endpoint.
pub struct GetCalendarFeed;

/// No fields.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Request {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Response {
    /// The feed's secret URL.
    pub url: String,
}

impl Endpoint for GetCalendarFeed {
    const NAME: &'static str = "social:getCalendarFeed";
    const CHANGES_DATA: bool = false;
    type Request = Request;
    type Response = Response;

    fn example() -> Example {
        Example {
            request: json!({}),
            answer: json!({ "url": examples::calendar_feed_url() }),
        }
    }

    async fn handle(context: RequestContext, _request: Request) -> Result<Response, ApiError> {
        Ok(Response {
            url: calendar_feed::url(&context).await?,
        })
    }
}

inventory::submit! { Registration::of::<GetCalendarFeed>().described_by(include_str!("get_calendar_feed.rs")) }
