//! What a request sees: the state shared by every request, and the caller.

use std::sync::Arc;

use crate::domain::feed::FeedKey;
use crate::domain::ids::Caller;
use crate::domain::page::CursorKey;
use crate::push::Pushes;
use crate::store::Store;

/// State shared by every request.
pub struct AppState {
    pub store: Store,
    pub pushes: Arc<Pushes>,
    /// Signs the cursors of paged lists.
    pub cursor_key: CursorKey,
    /// Makes calendar feed URLs; `None`: calendar feeds are off.
    pub calendar_feed_key: Option<FeedKey>,
    /// Base URL of the service as clients reach it, without a trailing slash.
    pub public_url: String,
}

/// What an endpoint gets besides its request: the service state and the caller.
#[derive(Clone)]
pub struct RequestContext {
    pub state: Arc<AppState>,
    pub caller: Caller,
}

impl RequestContext {
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// The key of page cursors.
    pub fn cursor_key(&self) -> &CursorKey {
        &self.state.cursor_key
    }

    /// The caller's user id.
    pub fn me(&self) -> &str {
        &self.caller.user_id
    }

    /// Publishes a change to its audience (see `push`).
    pub async fn publish(&self, change: crate::push::SessionChange) {
        self.state.pushes.publish(change).await;
    }
}
