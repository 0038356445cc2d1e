//! What a request sees: the state shared by every request, and the caller.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::api::prop_watch::{PropWatches, SharedLooks};
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
    /// The looks the prop watches of one user share (`api::prop_watch`).
    pub looks: SharedLooks,
}

/// What an endpoint gets besides its request: the service state, the caller and the
/// connection the request came on.
#[derive(Clone)]
pub struct RequestContext {
    pub state: Arc<AppState>,
    pub caller: Caller,
    /// The props the connection watches.
    pub watches: Arc<PropWatches>,
    /// Cancelled once the request's answer is queued on the connection: what the request
    /// starts there (a prop watch's pushes) waits for it, so as not to overtake the answer.
    pub answer_queued: CancellationToken,
}

impl RequestContext {
    /// The context of a connection's next request: the same, with its own
    /// [`answer_queued`](RequestContext::answer_queued).
    pub fn for_request(&self) -> RequestContext {
        RequestContext {
            answer_queued: CancellationToken::new(),
            ..self.clone()
        }
    }

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
    pub async fn publish(&self, change: crate::domain::change::SessionChange) {
        self.state.pushes.publish(change).await;
    }

    /// Tells the watchers of `props` to look again: something they may show changed that
    /// no session push names (see `push::board`).
    pub async fn publish_props(&self, props: Vec<crate::domain::session::Prop>) {
        self.state.pushes.publish_props(props, None).await;
    }

    /// Tells the watchers of every prop where an event has sessions to look again: the
    /// event changed who sees them, or until when they repeat. Best effort, like a push.
    pub async fn publish_event_props(&self, event_id: &str) {
        match self.store().props_of_event(event_id).await {
            Ok(props) => {
                let event_id = Some(event_id.to_owned());
                self.state.pushes.publish_props(props, event_id).await;
            }
            Err(error) => {
                tracing::warn!(%error, event = ?event_id, "cannot find the props of an event's sessions")
            }
        }
    }
}
