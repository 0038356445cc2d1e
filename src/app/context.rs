//! What a request sees: the shared state, the caller, and the connection it came on.

use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

use super::prop_board::sessions::PropSessions;
use super::prop_board::watches::PropWatches;
use super::state::AppState;
use crate::domain::change::SessionChange;
use crate::domain::ids::{Caller, EventId, UserId};
use crate::domain::page::CursorKey;
use crate::domain::session::Prop;
use crate::error::ApiError;
use crate::push::bus::Publication;
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
    /// When the request's answer is kept for its retries: the changes it publishes, held
    /// until its answer is known (see [`RequestContext::hold_publications`]).
    held: Option<Arc<HeldPublications>>,
}

/// The changes a request published, not yet sent: its last push carries its answer for
/// retries, so that keeping that answer costs no write of its own (`api::retries`).
#[derive(Debug, Default)]
pub struct HeldPublications(Mutex<Vec<Publication>>);

impl HeldPublications {
    fn hold(&self, publication: Publication) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(publication);
    }

    /// What was held, in the order it was published.
    pub fn take(&self) -> Vec<Publication> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl RequestContext {
    /// The context of a connection's next request: the same, with its own
    /// [`answer_queued`](RequestContext::answer_queued).
    pub fn for_request(&self) -> RequestContext {
        RequestContext {
            answer_queued: CancellationToken::new(),
            held: None,
            ..self.clone()
        }
    }

    /// The context of a connection: its first request's.
    pub fn of_connection(
        state: Arc<AppState>,
        caller: Caller,
        watches: Arc<PropWatches>,
    ) -> RequestContext {
        RequestContext {
            state,
            caller,
            watches,
            answer_queued: CancellationToken::new(),
            held: None,
        }
    }

    /// Holds what this request publishes from now on until the caller sends it
    /// ([`Pushes::publish_all`](crate::push::bus::Pushes::publish_all)) with the
    /// request's answer; answers where it is held. Used for a request whose answer is kept
    /// for its retries.
    pub fn hold_publications(&mut self) -> Arc<HeldPublications> {
        Arc::clone(self.held.get_or_insert_with(Arc::default))
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
        match &self.held {
            Some(held) => held.hold(Publication::Change(change)),
            None => self.state.pushes.publish(change).await,
        }
    }

    /// Tells the watchers of `props` to look again: something they may show changed that
    /// no session push names (see `push::board`).
    pub async fn publish_props(&self, props: Vec<Prop>) {
        self.publish_props_of(props, None).await;
    }

    async fn publish_props_of(&self, props: Vec<Prop>, event_id: Option<EventId>) {
        match &self.held {
            Some(held) => held.hold(Publication::Props { props, event_id }),
            None => self.state.pushes.publish_props(props, event_id).await,
        }
    }

    /// Tells the watchers of every prop where an event has sessions to look again: the
    /// event changed who sees them, or until when they repeat. Best effort, like a push.
    pub async fn publish_event_props(&self, event_id: &EventId) {
        match self.store().props_of_event(event_id).await {
            Ok(props) => {
                self.publish_props_of(props, Some(event_id.to_owned()))
                    .await
            }
            Err(error) => {
                tracing::warn!(%error, event = ?event_id, "cannot find the props of an event's sessions")
            }
        }
    }
}
