//! One WebSocket over an upgraded connection, read and written with the service's own
//! codec (`crate::websocket`): the reader puts the client's frames together into
//! messages, the writer writes whole frames — a push's frame is the same shared bytes for
//! every socket (compressed once for those that agreed on permessage-deflate), written
//! with one write and no copy.

use std::io;

use bytes::{Bytes, BytesMut};
use poem::Upgraded;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

use crate::websocket::reader::{Incoming, MessageReader, ReadError};

/// Bytes asked of the connection at each read once a message's first bytes are in.
const READ_BYTES: usize = 2 * 1024;
/// Bytes a socket waits for between messages, in the reading future itself (see
/// [`SocketReader::next`]): enough for a frame's header.
const FIRST_READ_BYTES: usize = 16;

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
                // Between messages a socket holds no read buffer: it waits for the first
                // bytes of the next one in a few bytes of this future, and takes a buffer
                // only once they have arrived (the rest, already there, is read at once).
                // Keeping one while waiting cost every idle socket READ_BYTES or more (what
                // its last message left): 200 MB at 100,000 idle sockets.
                *buffer = BytesMut::new();
                let mut first = [0_u8; FIRST_READ_BYTES];
                let read = match self.io.read(&mut first).await {
                    Ok(0) | Err(_) => return None,
                    Ok(read) => read,
                };
                let buffer = self.messages.buffer();
                buffer.reserve(READ_BYTES);
                buffer.extend_from_slice(&first[..read]);
                continue;
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
