//! One WebSocket connection: reads frames, dispatches them to endpoints concurrently,
//! writes answers through one bounded queue, and closes on shutdown, token expiry or an
//! oversized frame.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::admission::Admitted;
use super::socket::{Socket, SocketReader, SocketWriter};
use super::state::ServerState;
use crate::api::dispatch::{answer, refuse, refuse_unread};
use crate::api::endpoint::PushRegistration;
use crate::api::envelope::{self, TOKEN_EXPIRED_ENDPOINT};
use crate::app::context::RequestContext;
use crate::app::person_data::ERASED_CLOSE_CODE;
use crate::app::prop_board::watches::PropWatches;
use crate::domain::change::SessionChange;
use crate::domain::ids::{Caller, UserId};
use crate::error::ApiError;
use crate::push::bus::{RESYNC_FRAME, Replay, SESSION_DELETED, SESSION_UPDATED};
use crate::push::{Outgoing, Outlet, PushFrame};
use crate::websocket::frame::{OpCode, server_frame};
use crate::websocket::prepared::PreparedMessage;
use crate::websocket::reader::{Incoming, ReadError};

/// Longest wait for one frame to be written before the peer counts as stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the peer's part of the closing handshake.
const CLOSING_HANDSHAKE: Duration = Duration::from_secs(2);
/// Longest time spent reading and discarding the rest of a frame refused as too large.
const DRAIN_TIME: Duration = Duration::from_secs(10);
/// A peer that sends nothing for this long while its refused frame is drained has sent
/// all of it (and its answer to the close): the connection ends then.
const DRAIN_QUIET: Duration = Duration::from_millis(500);

/// Close codes (RFC 6455 §7.4.1).
mod close_code {
    pub const NORMAL: u16 = 1000;
    pub const AWAY: u16 = 1001;
    pub const POLICY: u16 = 1008;
    pub const TOO_LARGE: u16 = 1009;
    pub const AGAIN: u16 = 1013;
}

/// Serves one upgraded connection until it closes. With `resume_after` (the `event.id`
/// of the last push the client saw), the pushes it missed since are sent first (or one
/// `social:resync`), then live ones, none twice.
pub fn serve(
    socket: Socket,
    state: Arc<ServerState>,
    caller: Caller,
    admitted: Admitted,
    expires_at: i64,
    resume_after: Option<String>,
) -> impl Future<Output = ()> + Send {
    // An async fn keeps its arguments twice for as long as it runs, as passed and as
    // moved into its body (rust-lang/rust#62958): passed in a box emptied at the start,
    // they are kept once, ≈ 400 bytes less in every open connection's task.
    serve_connection(Box::new(Connection {
        socket,
        state,
        caller,
        admitted,
        expires_at,
        resume_after,
    }))
}

/// The arguments of [`serve`].
struct Connection {
    socket: Socket,
    state: Arc<ServerState>,
    caller: Caller,
    admitted: Admitted,
    expires_at: i64,
    resume_after: Option<String>,
}

async fn serve_connection(connection: Box<Connection>) {
    // Moved out field by field, and the box freed here rather than when the connection
    // ends.
    let Connection {
        socket:
            Socket {
                reader: mut stream,
                writer: sink,
                compression,
            },
        state,
        caller,
        admitted,
        expires_at,
        resume_after,
    } = {
        let connection = connection;
        *connection
    };
    let _open = crate::metrics::OpenConnection::new();
    let limits = state.settings.connection.clone();
    let (outgoing, queue) = mpsc::channel::<Outgoing>(limits.outgoing_queue);
    let kicked = CancellationToken::new();
    let context = RequestContext::of_connection(
        Arc::clone(&state.app),
        caller,
        Arc::new(PropWatches::new(Outlet::new(&outgoing, kicked.clone()))),
    );
    let pushes = &context.state.pushes;
    // Registered before the missed pushes are read, so that none falls between the two:
    // live pushes wait in the queue, and those already replayed are skipped.
    let ended = CancellationToken::new();
    let registration = pushes.hub().register(
        context.me(),
        outgoing.clone(),
        kicked.clone(),
        ended.clone(),
    );
    let replayed = match &resume_after {
        Some(after) => Box::pin(replay(pushes, context.me(), after, &admitted)).await,
        None => Replayed::default(),
    };
    let writer = tokio::spawn(write_frames(
        sink,
        compression,
        replayed,
        queue,
        kicked.clone(),
    ));
    // Registered first, so that the pushes of these new invitations reach this connection.
    // Boxed: its database calls would otherwise make every open connection's state as
    // large as theirs for as long as it stays open.
    Box::pin(attach_invitations(&context)).await;

    let in_flight = TaskTracker::new();
    let permits = admitted.request_slots();
    let rate_limited = ApiError::RateLimited {
        per_second: limits.requests_per_second,
        burst: limits.burst,
    };
    let binary_refused =
        ApiError::BadFrame("binary frames are not supported: send JSON in text frames".to_owned());
    let expiry = tokio::time::sleep(until_expiry(expires_at, state.settings.tokens.leeway()));
    tokio::pin!(expiry);

    // Set when a frame was refused before it was read to its end.
    let mut unread_frame = false;
    let close = loop {
        tokio::select! {
            biased;
            () = state.shutdown.cancelled() => break Some((close_code::AWAY, "server shutting down")),
            // The writer closes a connection that was too slow to take its frames.
            () = kicked.cancelled() => break None,
            () = ended.cancelled() => break Some((ERASED_CLOSE_CODE, "user erased")),
            () = &mut expiry => {
                let _ = outgoing.send(Outgoing::Text(token_expired_frame())).await;
                break Some((close_code::POLICY, "token expired"));
            }
            message = stream.next() => match message {
                None => break None,
                // Answered with a close of our own (the closing handshake).
                Some(Ok(Incoming::Close(_))) => break Some((close_code::NORMAL, "")),
                Some(Ok(Incoming::Text(bytes))) => {
                    let Ok(text) = std::str::from_utf8(&bytes) else {
                        continue;
                    };
                    let text = text.to_owned();
                    if text.len() > limits.max_frame_bytes {
                        let error = ApiError::FrameTooLarge { limit: limits.max_frame_bytes };
                        let _ = outgoing.send(Outgoing::Text(refuse(text.as_str(), &error))).await;
                        break Some((close_code::TOO_LARGE, "frame too large"));
                    }
                    // Waiting for a free slot must not hold off shutdown, expiry or a kick.
                    let permit = tokio::select! {
                        permit = Arc::clone(&permits).acquire_owned() => permit,
                        () = state.shutdown.cancelled() => break Some((close_code::AWAY, "server shutting down")),
                        () = &mut expiry => {
                            let _ = outgoing.try_send(Outgoing::Text(token_expired_frame()));
                            break Some((close_code::POLICY, "token expired"));
                        }
                        () = kicked.cancelled() => break None,
                    };
                    let Ok(permit) = permit else {
                        break None;
                    };
                    // Taken from the rate once a slot is free, so that the answers of the
                    // requests before it (charged by size) count against it.
                    if !admitted.try_take_frame(text.len(), Instant::now()) {
                        let _ = outgoing.send(Outgoing::Text(refuse(text.as_str(), &rate_limited))).await;
                        continue;
                    }
                    let context = context.for_request();
                    let outgoing = outgoing.clone();
                    let charge = admitted.rate();
                    in_flight.spawn(async move {
                        let answer_queued = context.answer_queued.clone().drop_guard();
                        let frame = answer(text.as_str(), context).await;
                        charge.charge(frame.len());
                        let _ = outgoing.send(Outgoing::Answer { text: frame, slot: permit }).await;
                        drop(answer_queued);
                    });
                }
                Some(Ok(Incoming::Binary(_))) => {
                    // Counted like any frame: refusing costs little, but not nothing.
                    let error = if admitted.try_acquire(Instant::now()) {
                        &binary_refused
                    } else {
                        &rate_limited
                    };
                    let _ = outgoing.send(Outgoing::Text(refuse_unread(error))).await;
                }
                Some(Ok(Incoming::Ping(payload))) => {
                    let _ = outgoing.send(Outgoing::Pong(payload)).await;
                }
                Some(Ok(Incoming::Pong(_))) => {}
                // Larger than is read whole: its rest is discarded after the close.
                Some(Err(ReadError::TooLarge { .. })) => {
                    let error = ApiError::FrameTooLarge { limit: limits.max_frame_bytes };
                    let _ = outgoing.send(Outgoing::Text(refuse_unread(&error))).await;
                    unread_frame = true;
                    break Some((close_code::TOO_LARGE, "frame too large"));
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, "connection read failed");
                    break Some((error.close_code(), "protocol error"));
                }
            }
        }
    };

    in_flight.close();
    in_flight.wait().await;
    context.watches.stop_all();
    drop(registration);
    if let Some((code, reason)) = close {
        let _ = outgoing.send(Outgoing::Close { code, reason }).await;
    }
    drop(outgoing);
    let _sink = writer.await.ok();
    if unread_frame {
        // Reading stopped at a frame's header: read the rest raw and discard it, so that
        // the 413 and the close frame reach the client instead of a reset. Boxed: as the
        // largest of the connection's waits, it would otherwise size every connection's
        // task for the rare one that drains.
        Box::pin(drain(&mut stream)).await;
        return;
    }
    // The closing handshake: read until the peer answers the close (or sends its own and
    // gets the answer), so that the socket is not reset with the close frame still in flight.
    let _ = tokio::time::timeout(CLOSING_HANDSHAKE, async {
        while let Some(Ok(incoming)) = stream.next().await {
            if matches!(incoming, Incoming::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// The replay of a resumption after `after` (see [`crate::push::bus::Pushes::replay`]),
/// in the user's turn and taken from their rate like an answer of the size it rendered
/// (also when it gave up for its size); a user over their rate gets `social:resync`
/// without anything being read.
async fn replay(
    pushes: &crate::push::bus::Pushes,
    user_id: &UserId,
    after: &str,
    admitted: &Admitted,
) -> Replayed {
    let turn = admitted.replay_turn().await;
    let replay = if admitted.try_acquire(Instant::now()) {
        let (replay, rendered_bytes) = pushes.replay(user_id, after).await;
        admitted.rate().charge(rendered_bytes);
        replay
    } else {
        Replay::Resync
    };
    let (frames, through) = match replay {
        Replay::Missed { frames, through } => (
            frames.into_iter().map(Outgoing::Push).collect(),
            Some(through),
        ),
        Replay::Resync => (
            vec![Outgoing::Text(RESYNC_FRAME.to_owned())],
            pushes.seen_through(after),
        ),
    };
    Replayed {
        frames,
        through,
        turn,
    }
}

/// What a resumption sends before live pushes: the missed pushes (or `social:resync`),
/// the last push number they cover, and the user's replay turn, held until they are
/// written — so that one user's replays that are not read hold one replay's memory.
#[derive(Default)]
struct Replayed {
    frames: Vec<Outgoing>,
    through: Option<i64>,
    turn: Option<OwnedSemaphorePermit>,
}

/// Reads and discards what the peer still sends (the rest of a refused frame, its answer
/// to the close) until it closes or pauses for [`DRAIN_QUIET`], for at most
/// [`DRAIN_TIME`]: a client that waits for the server to end the connection after the
/// closing handshake (as RFC 6455 asks) sees it end right after its answer to the close.
async fn drain(connection: &mut SocketReader) {
    let mut discarded = vec![0; 64 * 1024];
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Ok(Ok(1..)) =
            tokio::time::timeout(DRAIN_QUIET, connection.read_raw(&mut discarded)).await
        {}
    })
    .await;
}

/// Turns the contact invitations waiting for this user into invitations, and pushes them.
async fn attach_invitations(context: &RequestContext) {
    match context
        .store()
        .attach_pending_invitations(context.me())
        .await
    {
        Ok(sessions) => {
            for session in &sessions {
                context.publish(SessionChange::updated(session)).await;
            }
        }
        // They stay pending and attach at a later connect.
        Err(error) => {
            tracing::warn!(%error, user = ?context.me(), "cannot attach pending invitations")
        }
    }
}

/// Writes the replay of a resumption (and gives its turn back), then queued frames to the
/// socket until the queue closes or a close frame is written. Live session pushes
/// numbered up to the replay's last are left out: the replay covered them (pushes are
/// delivered in the order of their numbers). When the connection is kicked for being
/// too slow, it writes a 1013 close frame if it can within a second and then discards
/// whatever is still queued, so that nobody waits on this connection.
async fn write_frames(
    mut sink: SocketWriter,
    compression: bool,
    replayed: Replayed,
    mut queue: mpsc::Receiver<Outgoing>,
    kicked: CancellationToken,
) -> SocketWriter {
    let Replayed {
        frames: first,
        through: replayed_through,
        mut turn,
    } = replayed;
    let replayed = |push: &PushFrame| {
        let session_push = push.endpoint == SESSION_UPDATED || push.endpoint == SESSION_DELETED;
        session_push
            && replayed_through.is_some_and(|through| {
                push.event_id
                    .parse::<i64>()
                    .is_ok_and(|number| number <= through)
            })
    };
    let mut first = first.into_iter();
    loop {
        let (next, live) = match first.next() {
            Some(outgoing) => (Some(outgoing), false),
            None => {
                drop(turn.take());
                tokio::select! {
                    biased;
                    () = kicked.cancelled() => break,
                    message = queue.recv() => (message, true),
                }
            }
        };
        // An answer's request slot is given back once the answer is written.
        let mut _slot = None;
        let mut closing = false;
        let frame = match next {
            Some(Outgoing::Text(text)) => text_frame(text, compression),
            Some(Outgoing::Answer { text, slot }) => {
                _slot = Some(slot);
                text_frame(text, compression)
            }
            Some(Outgoing::Push(push)) if live && replayed(&push) => continue,
            Some(Outgoing::Push(push)) => push.prepared(envelope::encode_push).frame(compression),
            Some(Outgoing::Pong(payload)) => server_frame(OpCode::Pong, false, &payload),
            Some(Outgoing::Close { code, reason }) => {
                closing = true;
                close_frame(code, reason)
            }
            None => return sink,
        };
        let sent = tokio::select! {
            biased;
            () = kicked.cancelled() => break,
            sent = tokio::time::timeout(WRITE_TIMEOUT, sink.send(&frame)) => sent,
        };
        match sent {
            Ok(Ok(())) if !closing => {}
            Ok(_) => return sink,
            // A peer that takes no data for this long is gone or stuck: drop it.
            Err(_) => {
                tracing::warn!("a frame could not be written for {WRITE_TIMEOUT:?}: disconnecting");
                kicked.cancel();
                break;
            }
        }
    }
    let close = close_frame(close_code::AGAIN, "too slow to receive");
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(&close)).await;
    while queue.recv().await.is_some() {}
    sink
}

/// The frame of an answer or notice `text` for this connection (compressed when it
/// agreed on compression and that makes it smaller).
fn text_frame(text: String, compression: bool) -> Bytes {
    PreparedMessage::text(Bytes::from(text)).frame(compression)
}

/// A close frame with `code` and `reason`.
fn close_frame(code: u16, reason: &str) -> Bytes {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    server_frame(OpCode::Close, false, &payload)
}

inventory::submit! {
    PushRegistration::of::<()>(
        TOKEN_EXPIRED_ENDPOINT,
        "The connection's token expired: this failure (code 401) is its last frame, then \
         the connection closes with code 1008. Reconnect with a fresh token.",
        || crate::api::examples::frame(&token_expired_frame()),
    )
}

/// The frame that tells a client its token expired.
fn token_expired_frame() -> String {
    let error = ApiError::Unauthorized("token expired".to_owned());
    envelope::encode_failure(TOKEN_EXPIRED_ENDPOINT, None, &error)
}

/// Time left until a token expiring at `expires_at` (Unix seconds) is refused.
fn until_expiry(expires_at: i64, leeway_seconds: u64) -> Duration {
    let now = chrono::Utc::now().timestamp_millis();
    let deadline = expires_at
        .saturating_add(leeway_seconds as i64)
        .saturating_mul(1000);
    Duration::from_millis(u64::try_from(deadline.saturating_sub(now)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_counts_the_leeway() {
        let now = chrono::Utc::now().timestamp();
        assert_eq!(until_expiry(now - 100, 5), Duration::ZERO);
        let left = until_expiry(now + 10, 5);
        assert!(
            left > Duration::from_secs(13) && left <= Duration::from_secs(15),
            "{left:?}"
        );
    }
}
