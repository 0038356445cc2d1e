//! Connections before their first answer: a socket that sends half a request line, or
//! nothing, must not hold a descriptor for ever, nor may thousands of them crowd out the
//! clients that authenticate.
//!
//! Every accepted socket is a [`GuardedStream`] until the server first writes to it (a
//! response, the `101` of a WebSocket upgrade, a refusal): until then it must complete a
//! request within the header time (`--header-timeout`, default 10 s), or its reads fail and
//! the connection closes; and at most [`MAX_UNANSWERED`] such sockets are open in one
//! process — past that, a new socket is closed at once (counted as
//! `social_refusals_total{reason="unanswered"}`). Idle keep-alive HTTP connections close
//! after [`IDLE_HTTP_TIMEOUT`] (see `server`). `accept` failures (out of descriptors) are
//! retried after pauses that double up to a second, never in a tight loop.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Most sockets of one process that have not been answered yet.
pub const MAX_UNANSWERED: usize = 1024;
/// How long an HTTP connection may stay open between requests.
pub const IDLE_HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// The slots of sockets not answered yet, shared by the acceptor.
#[derive(Debug, Clone)]
pub struct UnansweredSlots(Arc<Semaphore>);

impl UnansweredSlots {
    pub fn new(slots: usize) -> UnansweredSlots {
        UnansweredSlots(Arc::new(Semaphore::new(slots)))
    }

    /// Guards `inner`, taking a slot; `None` (close it) when every slot is taken.
    pub fn guard<T>(&self, inner: T, header_timeout: Duration) -> Option<GuardedStream<T>> {
        let slot = Arc::clone(&self.0).try_acquire_owned().ok()?;
        Some(GuardedStream {
            inner,
            unanswered: Some(Unanswered {
                _slot: slot,
                deadline: Box::pin(tokio::time::sleep(header_timeout)),
            }),
        })
    }
}

/// What a socket holds until it is first answered.
#[derive(Debug)]
struct Unanswered {
    _slot: OwnedSemaphorePermit,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

/// A socket whose reads fail once the header time has passed without an answer.
#[derive(Debug)]
pub struct GuardedStream<T> {
    inner: T,
    unanswered: Option<Unanswered>,
}

impl<T> GuardedStream<T> {
    /// The socket itself.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Answered: no deadline any more, and the slot is free for another socket.
    fn answered(&mut self) {
        self.unanswered = None;
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for GuardedStream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(unanswered) = &mut this.unanswered
            && unanswered.deadline.as_mut().poll(context).is_ready()
        {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no complete request within the header time",
            )));
        }
        Pin::new(&mut this.inner).poll_read(context, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for GuardedStream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.answered();
        Pin::new(&mut this.inner).poll_write(context, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.answered();
        Pin::new(&mut this.inner).poll_write_vectored(context, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_fail_after_the_header_time_until_the_first_answer() {
        let slots = UnansweredSlots::new(2);
        let mut buf = [0; 8];
        let (silent, _silent_peer) = tokio::io::duplex(64);
        let mut silent = slots.guard(silent, Duration::from_millis(20)).unwrap();
        let error = silent.read(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);

        let (answered, mut peer) = tokio::io::duplex(64);
        let mut answered = slots.guard(answered, Duration::from_millis(20)).unwrap();
        answered.write_all(b"HTTP/1.1 101\r\n").await.unwrap();
        // Long past the header time, an answered socket still reads.
        let late_frame = async {
            tokio::time::sleep(Duration::from_millis(60)).await;
            peer.write_all(b"frame").await.unwrap();
        };
        let (read, ()) = tokio::join!(answered.read(&mut buf), late_frame);
        assert_eq!(read.unwrap(), 5);
    }

    #[test]
    fn a_socket_past_the_bound_of_unanswered_ones_is_refused_until_one_is_answered() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let slots = UnansweredSlots::new(1);
            let (first, _far) = tokio::io::duplex(64);
            let mut first = slots.guard(first, Duration::from_secs(5)).unwrap();
            let (second, _second_far) = tokio::io::duplex(64);
            assert!(slots.guard(second, Duration::from_secs(5)).is_none());
            first.write_all(b"answer").await.unwrap();
            let (third, _third_far) = tokio::io::duplex(64);
            assert!(slots.guard(third, Duration::from_secs(5)).is_some());
        });
    }
}
