//! This process's open connections, by user, each with a bounded outgoing queue.
//!
//! A connection whose queue is full when a push arrives is kicked (its `kicked` token is
//! cancelled and the connection closes with 1013) instead of slowing others down or
//! growing the server's memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use crate::domain::ids::user_hash;
use crate::metrics;
use crate::websocket::prepared::PreparedMessage;

/// A push as queued for a connection: its data is rendered once and shared by every
/// recipient who sees it alike; the first connection to write it encodes the frame, and
/// every other one sends the same bytes (memory grows with the frame, not with the
/// number of recipients).
#[derive(Debug)]
pub struct PushFrame {
    pub endpoint: &'static str,
    /// The server-generated `event.id`.
    pub event_id: String,
    /// The frame's `data`, already JSON.
    pub data: Box<RawValue>,
    /// The whole frame as sent, once encoded (and once compressed, for the sockets that
    /// agreed on compression).
    encoded: OnceLock<PreparedMessage>,
}

impl PushFrame {
    pub fn new(endpoint: &'static str, event_id: String, data: Box<RawValue>) -> PushFrame {
        PushFrame {
            endpoint,
            event_id,
            data,
            encoded: OnceLock::new(),
        }
    }

    /// The frame, prepared for every socket: `encode`d by the first caller, shared with
    /// the others.
    pub fn prepared(&self, encode: impl FnOnce(&PushFrame) -> String) -> &PreparedMessage {
        self.encoded
            .get_or_init(|| PreparedMessage::text(encode(self).into()))
    }
}

/// What a connection's writer sends.
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded frame (a refusal, a notice).
    Text(String),
    /// An encoded answer and the slot of the request it answers, held until the answer
    /// is written: what a user's requests hold in memory stays bounded by their slots,
    /// also while their connections do not read.
    Answer {
        text: String,
        slot: tokio::sync::OwnedSemaphorePermit,
    },
    /// A push.
    Push(Arc<PushFrame>),
    /// The answer to a client's ping, with its payload.
    Pong(bytes::Bytes),
    /// The close frame, after which the writer stops.
    Close { code: u16, reason: &'static str },
}

/// One open connection's outgoing queue.
struct LocalConnection {
    id: u64,
    outgoing: mpsc::Sender<Outgoing>,
    /// Cancelled when the connection must be dropped for being too slow.
    kicked: CancellationToken,
    /// Cancelled when the service ends the connection: its user was erased.
    ended: CancellationToken,
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
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<LocalConnection>>> {
        // A panic while holding this lock cannot leave the map half-changed.
        self.by_user.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a connection of `user_id`; pushes go to `outgoing`, `kicked` is
    /// cancelled when the queue overflows and `ended` when the service ends it.
    pub fn register(
        &self,
        user_id: &str,
        outgoing: mpsc::Sender<Outgoing>,
        kicked: CancellationToken,
        ended: CancellationToken,
    ) -> HubRegistration<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .entry(user_id.to_owned())
            .or_default()
            .push(LocalConnection {
                id,
                outgoing,
                kicked,
                ended,
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
    pub fn send(&self, user_id: &str, frame: &Arc<PushFrame>) {
        let by_user = self.lock();
        for connection in by_user.get(user_id).into_iter().flatten() {
            connection.offer(user_id, Outgoing::Push(Arc::clone(frame)));
        }
    }

    /// Ends every connection of the user whose [`user_hash`] is `hash` on this process;
    /// answers how many.
    pub fn end_user(&self, hash: &str) -> usize {
        // Hashed without holding the lock: there may be many users.
        let users: Vec<String> = self.lock().keys().cloned().collect();
        let Some(user_id) = users.into_iter().find(|user_id| user_hash(user_id) == hash) else {
            return 0;
        };
        let by_user = self.lock();
        let connections = by_user.get(&user_id).map(Vec::as_slice).unwrap_or_default();
        for connection in connections {
            connection.ended.cancel();
        }
        connections.len()
    }

    /// Queues the encoded frame `text` on every connection of this process, like
    /// [`ConnectionHub::send`]; answers how many connections it was offered to.
    pub fn broadcast(&self, text: &str) -> usize {
        let by_user = self.lock();
        let mut offered = 0;
        for (user_id, connections) in by_user.iter() {
            for connection in connections {
                connection.offer(user_id, Outgoing::Text(text.to_owned()));
                offered += 1;
            }
        }
        offered
    }
}

impl LocalConnection {
    /// Queues `outgoing` without waiting; disconnects the connection when its queue is full.
    fn offer(&self, user_id: &str, outgoing: Outgoing) {
        offer(&self.outgoing, &self.kicked, user_id, outgoing);
    }
}

/// Queues `outgoing` on a connection without waiting; disconnects the connection (cancels
/// `kicked`) when its queue is full.
fn offer(
    queue: &mpsc::Sender<Outgoing>,
    kicked: &CancellationToken,
    user_id: &str,
    outgoing: Outgoing,
) {
    match queue.try_send(outgoing) {
        Ok(()) => metrics::push_delivered(),
        Err(TrySendError::Closed(_)) => metrics::push_dropped(),
        Err(TrySendError::Full(_)) => {
            metrics::push_dropped();
            if !kicked.is_cancelled() {
                tracing::warn!(
                    user = ?user_id,
                    "outgoing queue full: disconnecting a slow client"
                );
                metrics::client_kicked();
                kicked.cancel();
            }
        }
    }
}

/// Where the pushes of one connection go, held without keeping the connection open: its
/// outgoing queue (weakly) and its token for being too slow.
#[derive(Clone)]
pub struct Outlet {
    queue: mpsc::WeakSender<Outgoing>,
    kicked: CancellationToken,
}

impl Outlet {
    pub fn new(queue: &mpsc::Sender<Outgoing>, kicked: CancellationToken) -> Outlet {
        Outlet {
            queue: queue.downgrade(),
            kicked,
        }
    }

    /// Queues `frame` like [`ConnectionHub::send`]; `false` when the connection is gone
    /// (closed, or disconnected for being too slow).
    pub fn offer(&self, user_id: &str, frame: Arc<PushFrame>) -> bool {
        let Some(queue) = self.queue.upgrade() else {
            return false;
        };
        offer(&queue, &self.kicked, user_id, Outgoing::Push(frame));
        !self.kicked.is_cancelled() && !queue.is_closed()
    }

    /// Whether the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.kicked.is_cancelled() || self.queue.upgrade().is_none_or(|queue| queue.is_closed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: &str) -> Arc<PushFrame> {
        Arc::new(PushFrame::new(
            "social:test",
            id.to_owned(),
            RawValue::from_string("{}".to_owned()).unwrap(),
        ))
    }

    fn event_id(outgoing: Outgoing) -> String {
        match outgoing {
            Outgoing::Push(frame) => frame.event_id.clone(),
            other => panic!("expected a push, got {other:?}"),
        }
    }

    #[test]
    fn a_full_queue_disconnects_only_that_connection() {
        let hub = ConnectionHub::default();
        let (slow_tx, _slow_rx) = mpsc::channel(1);
        let (fast_tx, mut fast_rx) = mpsc::channel(8);
        let slow_kicked = CancellationToken::new();
        let fast_kicked = CancellationToken::new();
        let _slow = hub.register("u", slow_tx, slow_kicked.clone(), CancellationToken::new());
        let _fast = hub.register("u", fast_tx, fast_kicked.clone(), CancellationToken::new());
        hub.send("u", &frame("one"));
        hub.send("u", &frame("two"));
        assert!(slow_kicked.is_cancelled());
        assert!(!fast_kicked.is_cancelled());
        assert_eq!(event_id(fast_rx.try_recv().unwrap()), "one");
        assert_eq!(event_id(fast_rx.try_recv().unwrap()), "two");
    }

    #[test]
    fn a_broadcast_reaches_every_connection_of_every_user() {
        let hub = ConnectionHub::default();
        let (first_tx, mut first_rx) = mpsc::channel(1);
        let (second_tx, mut second_rx) = mpsc::channel(1);
        let _first = hub.register(
            "u",
            first_tx,
            CancellationToken::new(),
            CancellationToken::new(),
        );
        let _second = hub.register(
            "v",
            second_tx,
            CancellationToken::new(),
            CancellationToken::new(),
        );
        assert_eq!(hub.broadcast("hello"), 2);
        for queue in [&mut first_rx, &mut second_rx] {
            assert!(matches!(queue.try_recv(), Ok(Outgoing::Text(text)) if text == "hello"));
        }
    }

    #[test]
    fn dropping_the_registration_forgets_the_connection() {
        let hub = ConnectionHub::default();
        let (tx, _rx) = mpsc::channel(1);
        let registration =
            hub.register("u", tx, CancellationToken::new(), CancellationToken::new());
        assert!(hub.has_connections("u"));
        drop(registration);
        assert!(!hub.has_connections("u"));
    }
}
