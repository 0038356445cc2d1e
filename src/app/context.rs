//! What a request sees: the shared state, the caller, and the connection it came on.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::prop_board::sessions::PropSessions;
use super::prop_board::watches::PropWatches;
use super::state::AppState;
use crate::domain::change::SessionChange;
use crate::domain::ids::{Caller, EventId, UserId};
use crate::domain::page::CursorKey;
use crate::domain::session::Prop;
use crate::error::ApiError;
use crate::store::Store;

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
    pub fn me(&self) -> &UserId {
        &self.caller.user_id
    }

    /// Starts watching `prop` on the request's connection (see `prop_board::watches`) and
    /// answers what the caller sees there now.
    pub async fn watch_prop(&self, prop: Prop) -> Result<PropSessions, ApiError> {
        self.watches
            .watch(&self.state, &self.caller.user_id, prop, &self.answer_queued)
            .await
    }

    /// Publishes a change to its audience (see `push`).
    pub async fn publish(&self, change: SessionChange) {
        self.state.pushes.publish(change).await;
    }

    /// Tells the watchers of `props` to look again: something they may show changed that
    /// no session push names (see `push::board`).
    pub async fn publish_props(&self, props: Vec<Prop>) {
        self.state.pushes.publish_props(props, None).await;
    }

    /// Tells the watchers of every prop where an event has sessions to look again: the
    /// event changed who sees them, or until when they repeat. Best effort, like a push.
    pub async fn publish_event_props(&self, event_id: &EventId) {
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
