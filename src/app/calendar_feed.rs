//! The caller's calendar feed URL, for `social:getCalendarFeed` and
//! `social:rotateCalendarFeed`: `{public URL}/api/v0/resource/calendar/{token}.ics`, the
//! token made from the caller's stored salt (see `domain::feed`).

use super::context::RequestContext;
use crate::domain::feed::{FeedKey, fresh_salt, token_hash};
use crate::error::ApiError;

/// The request of both feed endpoints: nothing.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct NoFields {}

/// The answer of both feed endpoints.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct FeedUrl {
    /// The feed's secret URL.
    pub url: String,
}

/// Where feeds are served, under the public URL.
pub const FEED_PATH: &str = "/api/v0/resource/calendar";

/// The URL of the feed whose token is `token`.
pub fn feed_url(public_url: &str, token: &str) -> String {
    format!("{public_url}{FEED_PATH}/{token}.ics")
}

fn key(context: &RequestContext) -> Result<&FeedKey, ApiError> {
    context.state.calendar_feed_key.as_ref().ok_or_else(|| {
        ApiError::Forbidden(
            "calendar feeds are off on this service (it needs SOCIAL_CALENDAR_FEED_SECRET)"
                .to_owned(),
        )
    })
}

/// The caller's feed URL: the same on every call until rotated. The first call makes the
/// feed. A stored token made with another key (the secret it derives from changed) is
/// replaced by the one this key makes from the same salt.
pub async fn url(context: &RequestContext) -> Result<String, ApiError> {
    let key = key(context)?;
    let me = context.me();
    let fresh = fresh_salt();
    let fresh_hash = token_hash(&key.token(me, &fresh));
    let (salt, stored_hash) = context.store().feed_salt(me, &fresh, &fresh_hash).await?;
    let token = key.token(me, &salt);
    let hash = token_hash(&token);
    if hash != stored_hash {
        context.store().rotate_feed(me, &salt, &hash).await?;
    }
    Ok(feed_url(&context.state.public_url, &token))
}

/// A new feed URL for the caller; the previous one stops working.
pub async fn rotate(context: &RequestContext) -> Result<String, ApiError> {
    let key = key(context)?;
    let me = context.me();
    let salt = fresh_salt();
    let token = key.token(me, &salt);
    context
        .store()
        .rotate_feed(me, &salt, &token_hash(&token))
        .await?;
    Ok(feed_url(&context.state.public_url, &token))
}
