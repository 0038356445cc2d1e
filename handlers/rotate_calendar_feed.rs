//! `social:rotateCalendarFeed` (extension): gives the caller's calendar feed a new secret
//! URL and answers it; the previous URL answers 404 from then on (for a URL that was
//! shared by mistake). A retry with the same `event.id` answers the feed's URL as it is
//! then, without rotating again: the URL itself is never kept for retries.

use crate::api::prelude::*;

/// The endpoint.
pub struct RotateCalendarFeed;

impl Endpoint for RotateCalendarFeed {
    const NAME: &'static str = "social:rotateCalendarFeed";
    const CHANGES_DATA: bool = true;
    type Request = calendar_feed::NoFields;
    type Response = calendar_feed::FeedUrl;
    const KEEPS_ANSWER_DATA: bool = false;

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
            url: calendar_feed::rotate(&context).await?,
        })
    }

    async fn answer_again(context: RequestContext) -> Result<calendar_feed::FeedUrl, ApiError> {
        Ok(calendar_feed::FeedUrl {
            url: calendar_feed::url(&context).await?,
        })
    }
}

inventory::submit! { Registration::of::<RotateCalendarFeed>().described_by(include_str!("rotate_calendar_feed.rs")) }
