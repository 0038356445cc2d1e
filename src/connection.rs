//! One WebSocket connection: reads frames, dispatches them to endpoints concurrently,
//! writes answers through one bounded queue, and closes on shutdown, token expiry or an
//! oversized frame.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::SplitSink;
use futures_util::{FutureExt, SinkExt, StreamExt};
use poem::web::websocket::{CloseCode, Message, WebSocketStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::endpoint::{Caller, Registry, RequestContext};
use crate::envelope;
use crate::error::ApiError;
use crate::invitations::attach_pending_invitations;
use crate::pushes::SessionChange;
use crate::state::AppState;

/// Longest wait for one frame to be written before the peer counts as stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the peer's part of the closing handshake.
const CLOSING_HANDSHAKE: Duration = Duration::from_secs(2);

/// Endpoint name of the frame sent when the caller's token expires while connected.
pub const TOKEN_EXPIRED_ENDPOINT: &str = "social:tokenExpired";

/// Serves one upgraded connection until it closes.
pub async fn serve(socket: WebSocketStream, state: Arc<AppState>, caller: Caller, expires_at: i64) {
    let limits = state.settings.connection.clone();
    let (sink, mut stream) = socket.split();
    let (outgoing, queue) = mpsc::channel::<Message>(limits.outgoing_queue);
    let kicked = CancellationToken::new();
    let writer = tokio::spawn(write_frames(sink, queue, kicked.clone()));
    let hub = state.pushes.hub();
    let registration = hub.register(&caller.user_id, outgoing.clone(), kicked.clone());
    // Registered first, so that the pushes of these new invitations reach this connection.
    attach_invitations(&state, &caller.user_id).await;

    let context = RequestContext {
        state: Arc::clone(&state),
        caller,
    };
    let in_flight = TaskTracker::new();
    let permits = Arc::new(Semaphore::new(limits.max_in_flight));
    let mut rate = RateLimiter::new(limits.requests_per_second, limits.burst, Instant::now());
    let expiry = tokio::time::sleep(until_expiry(expires_at, state.settings.tokens.leeway()));
    tokio::pin!(expiry);

    let close = loop {
        tokio::select! {
            biased;
            () = state.shutdown.cancelled() => break Some((CloseCode::Away, "server shutting down")),
            // The writer closes a connection that was too slow to take its frames.
            () = kicked.cancelled() => break None,
            () = &mut expiry => {
                let _ = outgoing.send(Message::Text(token_expired_frame())).await;
                break Some((CloseCode::Policy, "token expired"));
            }
            message = stream.next() => match message {
                None | Some(Ok(Message::Close(_))) => break None,
                Some(Ok(Message::Text(text))) => {
                    if text.len() > limits.max_frame_bytes {
                        let error = ApiError::FrameTooLarge { limit: limits.max_frame_bytes };
                        let _ = outgoing.send(Message::Text(refuse(&text, error))).await;
                        break Some((CloseCode::Size, "frame too large"));
                    }
                    if !rate.try_acquire(Instant::now()) {
                        let error = ApiError::RateLimited {
                            per_second: limits.requests_per_second,
                            burst: limits.burst,
                        };
                        let _ = outgoing.send(Message::Text(refuse(&text, error))).await;
                        continue;
                    }
                    // Waiting for a free slot must not hold off shutdown, expiry or a kick.
                    let permit = tokio::select! {
                        permit = Arc::clone(&permits).acquire_owned() => permit,
                        () = state.shutdown.cancelled() => break Some((CloseCode::Away, "server shutting down")),
                        () = &mut expiry => {
                            let _ = outgoing.try_send(Message::Text(token_expired_frame()));
                            break Some((CloseCode::Policy, "token expired"));
                        }
                        () = kicked.cancelled() => break None,
                    };
                    let Ok(permit) = permit else {
                        break None;
                    };
                    let context = context.clone();
                    let outgoing = outgoing.clone();
                    in_flight.spawn(async move {
                        let frame = answer(&text, context).await;
                        let _ = outgoing.send(Message::Text(frame)).await;
                        drop(permit);
                    });
                }
                Some(Ok(Message::Binary(_))) => {
                    let error = ApiError::BadFrame(
                        "binary frames are not supported: send JSON in text frames".to_owned(),
                    );
                    let frame = envelope::encode_failure("", None, &error);
                    let _ = outgoing.send(Message::Text(frame)).await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Err(error)) if is_oversized(&error) => {
                    let error = ApiError::FrameTooLarge { limit: limits.max_frame_bytes };
                    let frame = envelope::encode_failure("", None, &error);
                    let _ = outgoing.send(Message::Text(frame)).await;
                    break Some((CloseCode::Size, "frame too large"));
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, "connection read failed");
                    break None;
                }
            }
        }
    };

    in_flight.close();
    in_flight.wait().await;
    drop(registration);
    if let Some((code, reason)) = close {
        let _ = outgoing
            .send(Message::Close(Some((code, reason.to_owned()))))
            .await;
    }
    drop(outgoing);
    let _ = writer.await;
    // The closing handshake: read until the peer answers the close (or sends its own and
    // gets the answer), so that the socket is not reset with the close frame still in flight.
    let _ = tokio::time::timeout(CLOSING_HANDSHAKE, async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
}

/// Turns the contact invitations waiting for this user into invitations, and pushes them.
async fn attach_invitations(state: &AppState, user_id: &str) {
    match attach_pending_invitations(&state.store, user_id).await {
        Ok(sessions) => {
            for session in &sessions {
                state.pushes.publish(SessionChange::updated(session)).await;
            }
        }
        // They stay pending and attach at a later connect.
        Err(error) => tracing::warn!(%error, user = user_id, "cannot attach pending invitations"),
    }
}

/// Writes queued frames to the socket until the queue closes or a close frame is written.
/// When the connection is kicked for being too slow, it writes a 1013 close frame if it
/// can within a second and then discards whatever is still queued, so that nobody waits
/// on this connection.
async fn write_frames(
    mut sink: SplitSink<WebSocketStream, Message>,
    mut queue: mpsc::Receiver<Message>,
    kicked: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            biased;
            () = kicked.cancelled() => break,
            message = queue.recv() => match message {
                Some(message) => message,
                None => return,
            },
        };
        let closing = matches!(message, Message::Close(_));
        let sent = tokio::select! {
            biased;
            () = kicked.cancelled() => break,
            sent = tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)) => sent,
        };
        match sent {
            Ok(Ok(())) if !closing => {}
            Ok(_) => return,
            // A peer that takes no data for this long is gone or stuck: drop it.
            Err(_) => {
                tracing::warn!("a frame could not be written for {WRITE_TIMEOUT:?}: disconnecting");
                kicked.cancel();
                break;
            }
        }
    }
    let close = Message::Close(Some((CloseCode::Again, "too slow to receive".to_owned())));
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(close)).await;
    while queue.recv().await.is_some() {}
}

/// The frame that tells a client its token expired.
fn token_expired_frame() -> String {
    let error = ApiError::Unauthorized("token expired".to_owned());
    envelope::encode_failure(TOKEN_EXPIRED_ENDPOINT, None, &error)
}

/// Decodes, dispatches and answers one text frame. Always produces exactly one frame,
/// even when the endpoint panics.
async fn answer(text: &str, context: RequestContext) -> String {
    let started = Instant::now();
    let request = match envelope::decode(text) {
        Ok(request) => request,
        Err(refused) => {
            tracing::info!(code = refused.error.code(), error = %refused.error, "frame refused");
            return envelope::encode_failure(
                &refused.endpoint,
                refused.event_id.as_deref(),
                &refused.error,
            );
        }
    };
    let span = tracing::info_span!(
        "frame",
        endpoint = %request.endpoint,
        event_id = request.event_id.as_deref().unwrap_or(""),
        user = %context.caller.user_id,
        code = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );
    let frame_span = span.clone();
    async move {
        let result = match Registry::global().find(&request.endpoint) {
            Ok(registration) => AssertUnwindSafe(registration.call(context, request.data))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    Err(ApiError::Unexpected(anyhow::anyhow!(
                        "the endpoint panicked"
                    )))
                }),
            Err(error) => Err(error),
        };
        let event_id = request.event_id.as_deref();
        let (frame, code) = match result {
            Ok(data) => (
                envelope::encode_success(&request.endpoint, event_id, data.as_ref()),
                0,
            ),
            Err(error) => (
                envelope::encode_failure(&request.endpoint, event_id, &error),
                error.code(),
            ),
        };
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        frame_span.record("code", code);
        frame_span.record("duration_ms", duration_ms);
        tracing::info!(code, duration_ms, "answered");
        frame
    }
    .instrument(span)
    .await
}

/// The answer to a frame refused before dispatch, echoing what can be read of it.
fn refuse(text: &str, error: ApiError) -> String {
    match envelope::decode(text) {
        Ok(request) => {
            envelope::encode_failure(&request.endpoint, request.event_id.as_deref(), &error)
        }
        Err(refused) => {
            envelope::encode_failure(&refused.endpoint, refused.event_id.as_deref(), &error)
        }
    }
}

/// True for the read error of a message above the configured size limit.
fn is_oversized(error: &std::io::Error) -> bool {
    let text = error.to_string();
    text.contains("Message too long") || text.contains("Frame too long")
}

/// Time left until a token expiring at `expires_at` (Unix seconds) is refused.
fn until_expiry(expires_at: i64, leeway_seconds: u64) -> Duration {
    let now = chrono::Utc::now().timestamp_millis();
    let deadline = expires_at
        .saturating_add(leeway_seconds as i64)
        .saturating_mul(1000);
    Duration::from_millis(u64::try_from(deadline.saturating_sub(now)).unwrap_or(0))
}

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug)]
struct RateLimiter {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    fn new(per_second: u32, burst: u32, now: Instant) -> Self {
        let capacity = f64::from(burst.max(1));
        RateLimiter {
            capacity,
            per_second: f64::from(per_second),
            tokens: capacity,
            last: now,
        }
    }

    fn try_acquire(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_until_refilled() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(100, 200, start);
        assert!((0..200).all(|_| limiter.try_acquire(start)));
        assert!(!limiter.try_acquire(start));
        assert!(
            limiter.try_acquire(start + Duration::from_millis(10)),
            "one token per 10 ms"
        );
        assert!(!limiter.try_acquire(start + Duration::from_millis(10)));
    }

    #[test]
    fn refill_never_exceeds_the_burst() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(100, 3, start);
        let later = start + Duration::from_secs(60);
        assert!((0..3).all(|_| limiter.try_acquire(later)));
        assert!(!limiter.try_acquire(later));
    }

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
