//! `social:rotateCalendarFeed` (extension): gives the caller's calendar feed a new secret
//! URL and answers it; the previous URL answers 404 from then on (for a URL that was
//! shared by mistake).

use serde::{Deserialize, Serialize};

use crate::api::prelude::*;

/// The endpoint.
pub struct RotateCalendarFeed;

/// No fields.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Request {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Response {
    /// The feed's new secret URL.
    pub url: String,
}

impl Endpoint for RotateCalendarFeed {
    const NAME: &'static str = "social:rotateCalendarFeed";
    const CHANGES_DATA: bool = true;
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
            url: calendar_feed::rotate(&context).await?,
        })
    }
}

inventory::submit! { Registration::of::<RotateCalendarFeed>().described_by(include_str!("rotate_calendar_feed.rs")) }
