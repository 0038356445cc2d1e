//! Live pushes: `social:sessionUpdated` and `social:sessionDeleted` to every open
//! connection of a session's audience, on whichever server process it lives.
//!
//! A change is published as one document in the `pushes` collection; every process
//! watches that collection through a MongoDB change stream and delivers the change to its
//! own connections, rendering the session as it is now for each recipient. Where the
//! database offers no change streams (a standalone mongod), the service says so once at
//! start-up and delivers within its own process only.
//!
//! Delivery is live and at most once. A connection's outgoing queue is bounded: a client
//! too slow to take its pushes is disconnected (close code 1013) instead of slowing others
//! down or growing the server's memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use poem::web::websocket::Message;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use crate::envelope;
use crate::sessions::SessionRenderer;
use crate::store::Store;
use crate::store::pushes::PushDocument;
use crate::store::sessions::SessionDocument;
use crate::time::Timestamp;

/// Endpoint name of the push sent after a change to a session.
pub const SESSION_UPDATED: &str = "social:sessionUpdated";
/// Endpoint name of the push sent when a session is deleted or out of sight.
pub const SESSION_DELETED: &str = "social:sessionDeleted";
/// Changes waiting for local delivery (local mode).
const LOCAL_QUEUE: usize = 1024;
/// Pause before the change stream is opened again after it failed.
const REOPEN_DELAY: Duration = Duration::from_millis(500);

/// Who hears of a change to one session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionChange {
    pub session_id: String,
    /// Receive `social:sessionUpdated`.
    pub updated_for: Vec<String>,
    /// Receive `social:sessionDeleted`.
    pub deleted_for: Vec<String>,
}

impl SessionChange {
    /// The session changed: its audience as it is now hears of it.
    pub fn updated(session: &SessionDocument) -> SessionChange {
        SessionChange {
            session_id: session.id.clone(),
            updated_for: audience(session),
            deleted_for: Vec::new(),
        }
    }

    /// The session is gone: its audience as it was hears of it.
    pub fn deleted(session: &SessionDocument) -> SessionChange {
        SessionChange {
            session_id: session.id.clone(),
            updated_for: Vec::new(),
            deleted_for: audience(session),
        }
    }

    /// Only `users` hear that the session changed.
    pub fn updated_for(session: &SessionDocument, users: Vec<String>) -> SessionChange {
        SessionChange {
            session_id: session.id.clone(),
            updated_for: users,
            deleted_for: Vec::new(),
        }
    }

    /// `users` also hear that the session is gone for them.
    pub fn and_deleted_for(mut self, users: Vec<String>) -> SessionChange {
        self.deleted_for.extend(users);
        self
    }
}

/// The audience of a session: its owner, its invitees who have not declined, and its
/// participants.
pub fn audience(session: &SessionDocument) -> Vec<String> {
    let mut users = vec![session.owner_id.clone()];
    users.extend(
        session
            .invited
            .iter()
            .map(|invitation| &invitation.user_id)
            .filter(|user_id| !session.declined.contains(user_id))
            .cloned(),
    );
    users.extend(session.joined.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    users.retain(|user_id| seen.insert(user_id.clone()));
    users
}

/// One open connection's outgoing queue.
struct LocalConnection {
    id: u64,
    outgoing: mpsc::Sender<Message>,
    /// Cancelled when the connection must be dropped for being too slow.
    kicked: CancellationToken,
}

/// The open connections of this process, by user.
#[derive(Default)]
pub struct ConnectionHub {
    next_id: AtomicU64,
    by_user: Mutex<HashMap<String, Vec<LocalConnection>>>,
}

/// Keeps a connection registered with the hub; unregisters it when dropped.
pub struct HubRegistration<'a> {
    hub: &'a ConnectionHub,
    user_id: String,
    id: u64,
}

impl Drop for HubRegistration<'_> {
    fn drop(&mut self) {
        let mut by_user = self.hub.lock();
        if let Some(connections) = by_user.get_mut(&self.user_id) {
            connections.retain(|connection| connection.id != self.id);
            if connections.is_empty() {
                by_user.remove(&self.user_id);
            }
        }
    }
}

impl ConnectionHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<LocalConnection>>> {
        // A panic while holding this lock cannot leave the map half-changed.
        self.by_user
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a connection of `user_id`; pushes go to `outgoing`, and `kicked` is
    /// cancelled when the queue overflows.
    pub fn register(
        &self,
        user_id: &str,
        outgoing: mpsc::Sender<Message>,
        kicked: CancellationToken,
    ) -> HubRegistration<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .entry(user_id.to_owned())
            .or_default()
            .push(LocalConnection {
                id,
                outgoing,
                kicked,
            });
        HubRegistration {
            hub: self,
            user_id: user_id.to_owned(),
            id,
        }
    }

    /// Whether `user_id` has an open connection on this process.
    pub fn has_connections(&self, user_id: &str) -> bool {
        self.lock().contains_key(user_id)
    }

    /// Queues `frame` on every connection of `user_id` without waiting; a connection whose
    /// queue is full is disconnected.
    pub fn send(&self, user_id: &str, frame: &str) {
        let by_user = self.lock();
        for connection in by_user.get(user_id).into_iter().flatten() {
            match connection
                .outgoing
                .try_send(Message::Text(frame.to_owned()))
            {
                Ok(()) | Err(TrySendError::Closed(_)) => {}
                Err(TrySendError::Full(_)) => {
                    if !connection.kicked.is_cancelled() {
                        tracing::warn!(
                            user = user_id,
                            "outgoing queue full: disconnecting a slow client"
                        );
                        connection.kicked.cancel();
                    }
                }
            }
        }
    }
}

/// How pushes travel between processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushMode {
    /// Through the database's change streams, to every process.
    Shared,
    /// Within this process only.
    Local,
}

/// The push service of one process.
pub struct Pushes {
    store: Store,
    hub: ConnectionHub,
    /// In local mode, the queue of the one task that delivers this process's changes.
    local: Option<mpsc::Sender<PushDocument>>,
}

impl Pushes {
    /// Opens the change stream of the `pushes` collection and starts delivering; falls back
    /// to local delivery, saying so, where the database has no change streams.
    pub async fn start(store: Store, shutdown: CancellationToken) -> std::sync::Arc<Pushes> {
        let stream = store.watch_pushes(None).await;
        let mode = match &stream {
            Ok(_) => PushMode::Shared,
            Err(error) => {
                tracing::warn!(
                    %error,
                    "the database offers no change streams (a standalone MongoDB?): pushes reach \
                     only the connections of this process; run MongoDB as a replica set to serve \
                     from several processes"
                );
                PushMode::Local
            }
        };
        let (local, local_queue) = match mode {
            PushMode::Shared => (None, None),
            PushMode::Local => {
                let (sender, receiver) = mpsc::channel(LOCAL_QUEUE);
                (Some(sender), Some(receiver))
            }
        };
        let pushes = std::sync::Arc::new(Pushes {
            store,
            hub: ConnectionHub::default(),
            local,
        });
        if let Ok(stream) = stream {
            tokio::spawn(std::sync::Arc::clone(&pushes).listen(stream, shutdown));
        } else if let Some(queue) = local_queue {
            tokio::spawn(std::sync::Arc::clone(&pushes).deliver_local(queue, shutdown));
        }
        pushes
    }

    pub fn mode(&self) -> PushMode {
        if self.local.is_some() {
            PushMode::Local
        } else {
            PushMode::Shared
        }
    }

    /// Delivers the changes of this process one after the other, in the order they were
    /// published, as the change stream does for shared delivery.
    async fn deliver_local(
        self: std::sync::Arc<Self>,
        mut queue: mpsc::Receiver<PushDocument>,
        shutdown: CancellationToken,
    ) {
        loop {
            let push = tokio::select! {
                () = shutdown.cancelled() => return,
                push = queue.recv() => match push {
                    Some(push) => push,
                    None => return,
                },
            };
            self.deliver(&push).await;
        }
    }

    pub fn hub(&self) -> &ConnectionHub {
        &self.hub
    }

    /// Publishes a change to every process (or delivers it here, in local mode). Delivery
    /// is best effort: a failure is logged and never fails the change itself.
    pub async fn publish(&self, change: SessionChange) {
        if change.updated_for.is_empty() && change.deleted_for.is_empty() {
            return;
        }
        let push = PushDocument {
            id: crate::store::new_id(),
            at: Timestamp::now().into(),
            session_id: change.session_id,
            updated_for: change.updated_for,
            deleted_for: change.deleted_for,
        };
        match &self.local {
            Some(queue) => {
                if queue.send(push).await.is_err() {
                    tracing::warn!("local push delivery has stopped");
                }
            }
            None => {
                if let Err(error) = self.store.insert_push(&push).await {
                    tracing::warn!(%error, session = %push.session_id, "cannot publish a push");
                }
            }
        }
    }

    async fn listen(
        self: std::sync::Arc<Self>,
        mut stream: mongodb::change_stream::ChangeStream<
            mongodb::change_stream::event::ChangeStreamEvent<PushDocument>,
        >,
        shutdown: CancellationToken,
    ) {
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => return,
                next = stream.next() => next,
            };
            match next {
                Some(Ok(event)) => {
                    if let Some(push) = event.full_document {
                        self.deliver(&push).await;
                    }
                }
                failure => {
                    if let Some(Err(error)) = failure {
                        tracing::warn!(%error, "the push change stream failed; reopening");
                    }
                    let token = stream.resume_token();
                    stream = loop {
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            () = tokio::time::sleep(REOPEN_DELAY) => {}
                        }
                        let reopened = match self.store.watch_pushes(token.clone()).await {
                            Ok(stream) => Ok(stream),
                            // The resume point may be gone: pushes are at most once.
                            Err(_) => self.store.watch_pushes(None).await,
                        };
                        match reopened {
                            Ok(stream) => break stream,
                            Err(error) => {
                                tracing::warn!(%error, "cannot reopen the push change stream")
                            }
                        }
                    };
                }
            }
        }
    }

    /// Sends a change to this process's connections of its recipients.
    async fn deliver(&self, push: &PushDocument) {
        let updated: Vec<&String> = push
            .updated_for
            .iter()
            .filter(|user_id| self.hub.has_connections(user_id))
            .collect();
        if !updated.is_empty() {
            match self.render_updates(push, &updated).await {
                Ok(frames) => {
                    for (user_id, frame) in frames {
                        self.hub.send(user_id, &frame);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, session = %push.session_id, "cannot render a push")
                }
            }
        }
        let deleted = json!({ "sessionId": push.session_id });
        let frame = envelope::encode_success(SESSION_DELETED, Some(&push.id), Some(&deleted));
        for user_id in &push.deleted_for {
            self.hub.send(user_id, &frame);
        }
    }

    /// The `social:sessionUpdated` frame of each recipient: the session as it is now, as
    /// that recipient sees it. None when the session is gone (its deletion is pushed).
    async fn render_updates<'a>(
        &self,
        push: &PushDocument,
        recipients: &[&'a String],
    ) -> Result<Vec<(&'a String, String)>, crate::error::ApiError> {
        let Some(session) = self.store.find_session(&push.session_id).await? else {
            return Ok(Vec::new());
        };
        let renderer = SessionRenderer::load(&self.store, std::slice::from_ref(&session)).await?;
        // A recipient who left the audience since the change (uninvited, declined) must
        // not see the session as it is now.
        let current = audience(&session);
        let frame_for = |viewer: &str| {
            let data = json!({ "session": renderer.render(viewer, &session) });
            envelope::encode_success(SESSION_UPDATED, Some(&push.id), Some(&data))
        };
        // Everyone sees the session alike, but incognito people see themselves: render the
        // common view once.
        let common = frame_for("");
        Ok(recipients
            .iter()
            .filter(|user_id| current.contains(user_id))
            .map(|user_id| {
                let frame = if renderer.is_incognito(user_id) {
                    frame_for(user_id)
                } else {
                    common.clone()
                };
                (*user_id, frame)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_disconnects_only_that_connection() {
        let hub = ConnectionHub::default();
        let (slow_tx, _slow_rx) = mpsc::channel(1);
        let (fast_tx, mut fast_rx) = mpsc::channel(8);
        let slow_kicked = CancellationToken::new();
        let fast_kicked = CancellationToken::new();
        let _slow = hub.register("u", slow_tx, slow_kicked.clone());
        let _fast = hub.register("u", fast_tx, fast_kicked.clone());
        hub.send("u", "one");
        hub.send("u", "two");
        assert!(slow_kicked.is_cancelled());
        assert!(!fast_kicked.is_cancelled());
        assert!(matches!(fast_rx.try_recv(), Ok(Message::Text(text)) if text == "one"));
        assert!(matches!(fast_rx.try_recv(), Ok(Message::Text(text)) if text == "two"));
    }

    #[test]
    fn dropping_the_registration_forgets_the_connection() {
        let hub = ConnectionHub::default();
        let (tx, _rx) = mpsc::channel(1);
        let registration = hub.register("u", tx, CancellationToken::new());
        assert!(hub.has_connections("u"));
        drop(registration);
        assert!(!hub.has_connections("u"));
    }
}
