//! `social:getCalendarFeed` (extension): the URL of the caller's calendar feed, for
//! calendar apps to subscribe to with no other credential. The same URL comes back on
//! every call until `social:rotateCalendarFeed`. The feed (`GET` the URL) lists every
//! session the caller owns, is invited to (not declined) or joined, as `METHOD:PUBLISH`
//! with the same UID and SEQUENCE as the invitation files; a session that leaves it stays
//! in it as `STATUS:CANCELLED` for 30 days.

use crate::api::prelude::*;

/// The endpoint.
pub struct GetCalendarFeed;

impl Endpoint for GetCalendarFeed {
    const NAME: &'static str = "social:getCalendarFeed";
    const CHANGES_DATA: bool = false;
    type Request = calendar_feed::NoFields;
    type Response = calendar_feed::FeedUrl;

    fn example() -> Example {
        Example {
            request: json!({}),
            answer: json!({ "url": examples::calendar_feed_url() }),
        }
    }

    async fn handle(
        context: RequestContext,
        _request: calendar_feed::NoFields,
    ) -> Result<calendar_feed::FeedUrl, ApiError> {
        Ok(calendar_feed::FeedUrl {
            url: calendar_feed::url(&context).await?,
        })
    }
}

inventory::submit! { Registration::of::<GetCalendarFeed>().described_by(include_str!("get_calendar_feed.rs")) }
