//! One WebSocket over an upgraded connection, read and written with the service's own
//! codec (`crate::websocket`): the reader puts the client's frames together into
//! messages, the writer writes whole frames — a push's frame is the same shared bytes for
//! every socket (compressed once for those that agreed on permessage-deflate), written
//! with one write and no copy.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use poem::Upgraded;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};

use crate::websocket::reader::{Incoming, MessageReader, ReadError};

/// Bytes asked of the connection at each read.
const READ_BYTES: usize = 2 * 1024;
thread_local! {
    /// Where a socket between messages reads the first bytes of the next one (see
    /// [`SocketReader::next`]): shared by the sockets of a thread, and used within one
    /// poll, never across an await.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_BYTES].into_boxed_slice());
}

/// A WebSocket connection: its reader, its writer, and whether compression was agreed.
pub struct Socket {
    pub reader: SocketReader,
    pub writer: SocketWriter,
    /// Whether the client agreed on permessage-deflate.
    pub compression: bool,
}

impl Socket {
    /// The WebSocket over `upgraded`, reading messages of at most `limit` bytes.
    pub fn new(upgraded: Upgraded, limit: usize, compression: bool) -> Socket {
        let (read, write) = tokio::io::split(upgraded);
        Socket {
            reader: SocketReader {
                io: read,
                messages: MessageReader::new(limit, compression),
            },
            writer: SocketWriter { io: write },
            compression,
        }
    }
}

/// The reading half of a [`Socket`].
pub struct SocketReader {
    io: ReadHalf<Upgraded>,
    messages: MessageReader,
}

impl SocketReader {
    /// The client's next message or control frame; `None` once the connection ended.
    pub async fn next(&mut self) -> Option<Result<Incoming, ReadError>> {
        loop {
            match self.messages.next_incoming() {
                Ok(Some(incoming)) => return Some(Ok(incoming)),
                Err(error) => return Some(Err(error)),
                Ok(None) => {}
            }
            let buffer = self.messages.buffer();
            if buffer.is_empty() {
                // Between messages a socket holds no read buffer: it waits for the next
                // one with the thread's scratch buffer, and takes a buffer of its own only
                // once bytes have arrived — one read, as with a buffer of its own. Keeping
                // one while waiting cost every idle socket READ_BYTES or more (what its
                // last message left): 200 MB at 100,000 idle sockets.
                *buffer = BytesMut::new();
                let (io, messages) = (&mut self.io, &mut self.messages);
                let read = std::future::poll_fn(|context| {
                    SCRATCH.with_borrow_mut(|scratch| {
                        let mut read = ReadBuf::new(scratch);
                        let polled = Pin::new(&mut *io).poll_read(context, &mut read);
                        polled.map_ok(|()| {
                            let buffer = messages.buffer();
                            buffer.reserve(READ_BYTES);
                            buffer.extend_from_slice(read.filled());
                            read.filled().len()
                        })
                    })
                })
                .await;
                match read {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => continue,
                }
            }
            buffer.reserve(READ_BYTES);
            match self.io.read_buf(buffer).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Reads raw bytes into `discarded`, past the codec: for discarding what follows a
    /// refused frame.
    pub async fn read_raw(&mut self, discarded: &mut [u8]) -> io::Result<usize> {
        self.io.read(discarded).await
    }
}

/// The writing half of a [`Socket`].
pub struct SocketWriter {
    io: WriteHalf<Upgraded>,
}

impl SocketWriter {
    /// Writes one whole frame (see [`crate::websocket::frame::server_frame`]).
    pub async fn send(&mut self, frame: &Bytes) -> io::Result<()> {
        self.io.write_all(frame).await?;
        self.io.flush().await
    }
}
