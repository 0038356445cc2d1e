//! A client's messages, read from the bytes of its connection (RFC 6455 §5.4–5.5, §6.2;
//! RFC 7692 §6.2): frames are put together into messages, control frames may come
//! between the frames of a message, compressed messages are inflated, text is checked to
//! be UTF-8 — and a message larger than the limit, on the wire or inflated, is refused as
//! soon as its size is known, with what of it has not arrived yet, so that the caller can
//! discard the rest instead of reading it into memory.
//!
//! The reader does no IO: the connection reads into [`MessageReader::buffer`] and asks
//! [`MessageReader::next_incoming`] for what is whole. The service reads as the server
//! ([`MessageReader::new`]); [`MessageReader::client`] reads the service's messages at a
//! client's end (the load tool's client), where frames arrive unmasked.

use bytes::{Bytes, BytesMut};

use super::deflate::{InflateError, Inflater};
use super::frame::{OpCode, ProtocolError, Role, read_header, unmask};

/// What the other end sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A text message (valid UTF-8).
    Text(Bytes),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    /// A close frame: its code and reason, if it has them.
    Close(Option<(u16, String)>),
}

/// Why a client's input cannot be read further; the connection ends with the close code
/// of [`ReadError::close_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("a frame continued no message, or a message began before the last one ended")]
    Fragmentation,
    #[error("a close frame had a malformed code or reason")]
    BadClose,
    /// The message is larger than the limit; `unread` bytes of its current frame have not
    /// arrived yet (discard them to reach what follows).
    #[error("a message is larger than {limit} bytes")]
    TooLarge { limit: usize, unread: u64 },
    #[error("a text message was not UTF-8")]
    NotUtf8,
    #[error("a compressed message was not valid DEFLATE data")]
    NotDeflate,
}

impl ReadError {
    /// The close code the connection ends with (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> u16 {
        match self {
            ReadError::Protocol(_) | ReadError::Fragmentation | ReadError::BadClose => 1002,
            ReadError::TooLarge { .. } => 1009,
            ReadError::NotUtf8 | ReadError::NotDeflate => 1007,
        }
    }
}

/// A data message being put together.
struct Partial {
    text: bool,
    /// The compressed message's inflater, or the plain message's bytes.
    body: Body,
}

enum Body {
    Plain(BytesMut),
    Compressed {
        inflater: Inflater,
        wire_bytes: usize,
    },
}

/// Puts the other end's frames together into messages.
pub struct MessageReader {
    buffer: BytesMut,
    limit: usize,
    compression: bool,
    role: Role,
    partial: Option<Partial>,
}

impl MessageReader {
    /// A reader of a client's messages (the service's end) of at most `limit` bytes (on
    /// the wire and inflated); `compression`: permessage-deflate was agreed.
    pub fn new(limit: usize, compression: bool) -> MessageReader {
        MessageReader::reading_as(Role::Server, limit, compression)
    }

    /// A reader of the server's messages at a client's end, as [`MessageReader::new`]
    /// otherwise.
    pub fn client(limit: usize, compression: bool) -> MessageReader {
        MessageReader::reading_as(Role::Client, limit, compression)
    }

    fn reading_as(role: Role, limit: usize, compression: bool) -> MessageReader {
        MessageReader {
            buffer: BytesMut::new(),
            limit,
            compression,
            role,
            partial: None,
        }
    }

    /// Where the connection puts what it reads.
    pub fn buffer(&mut self) -> &mut BytesMut {
        &mut self.buffer
    }

    /// The next whole message or control frame, `Ok(None)` while more bytes are needed.
    pub fn next_incoming(&mut self) -> Result<Option<Incoming>, ReadError> {
        loop {
            let Some((header, header_bytes)) =
                read_header(&self.buffer, self.compression, self.role)?
            else {
                return Ok(None);
            };
            let length = header.length;
            if !header.opcode.is_control() {
                let so_far = match &self.partial {
                    Some(Partial {
                        body: Body::Plain(bytes),
                        ..
                    }) => bytes.len(),
                    Some(Partial {
                        body: Body::Compressed { wire_bytes, .. },
                        ..
                    }) => *wire_bytes,
                    None => 0,
                };
                if (so_far as u64).saturating_add(length) > self.limit as u64 {
                    let arrived = (self.buffer.len() - header_bytes) as u64;
                    return Err(ReadError::TooLarge {
                        limit: self.limit,
                        unread: length.saturating_sub(arrived),
                    });
                }
            }
            // Whole frames only: a frame is at most the limit (or 125 bytes of control).
            let frame_bytes = header_bytes + length as usize;
            if self.buffer.len() < frame_bytes {
                self.buffer.reserve(frame_bytes - self.buffer.len());
                return Ok(None);
            }
            let mut frame = self.buffer.split_to(frame_bytes);
            let mut payload = frame.split_off(header_bytes);
            if let Some(mask) = header.mask {
                unmask(&mut payload, mask, 0);
            }
            match header.opcode {
                OpCode::Ping => return Ok(Some(Incoming::Ping(payload.freeze()))),
                OpCode::Pong => return Ok(Some(Incoming::Pong(payload.freeze()))),
                OpCode::Close => {
                    return close(&payload, self.role).map(|close| Some(Incoming::Close(close)));
                }
                OpCode::Text | OpCode::Binary => {
                    if self.partial.is_some() {
                        return Err(ReadError::Fragmentation);
                    }
                    let body = if header.compressed {
                        Body::Compressed {
                            inflater: Inflater::new(self.limit),
                            wire_bytes: 0,
                        }
                    } else {
                        Body::Plain(BytesMut::new())
                    };
                    self.partial = Some(Partial {
                        text: header.opcode == OpCode::Text,
                        body,
                    });
                }
                OpCode::Continuation if self.partial.is_none() => {
                    return Err(ReadError::Fragmentation);
                }
                OpCode::Continuation => {}
            }
            let Some(partial) = self.partial.as_mut() else {
                return Err(ReadError::Fragmentation);
            };
            match &mut partial.body {
                Body::Plain(bytes) if bytes.is_empty() => *bytes = payload,
                Body::Plain(bytes) => bytes.extend_from_slice(&payload),
                Body::Compressed {
                    inflater,
                    wire_bytes,
                } => {
                    *wire_bytes += payload.len();
                    inflater
                        .feed(&payload)
                        .map_err(|error| self.inflate_error(error))?;
                }
            }
            if header.fin
                && let Some(done) = self.partial.take()
            {
                return self.finish(done).map(Some);
            }
        }
    }

    fn inflate_error(&self, error: InflateError) -> ReadError {
        match error {
            InflateError::TooLarge { limit } => ReadError::TooLarge { limit, unread: 0 },
            InflateError::Corrupt => ReadError::NotDeflate,
        }
    }

    /// The message `partial`, whose last frame arrived.
    fn finish(&self, partial: Partial) -> Result<Incoming, ReadError> {
        let bytes = match partial.body {
            Body::Plain(bytes) => bytes.freeze(),
            Body::Compressed { inflater, .. } => Bytes::from(
                inflater
                    .finish()
                    .map_err(|error| self.inflate_error(error))?,
            ),
        };
        if !partial.text {
            return Ok(Incoming::Binary(bytes));
        }
        std::str::from_utf8(&bytes).map_err(|_| ReadError::NotUtf8)?;
        Ok(Incoming::Text(bytes))
    }
}

/// The code and reason of a close frame's `payload` (RFC 6455 §5.5.1, §7.4), read as
/// the end `role`.
fn close(payload: &[u8], role: Role) -> Result<Option<(u16, String)>, ReadError> {
    let [high, low, reason @ ..] = payload else {
        return if payload.is_empty() {
            Ok(None)
        } else {
            Err(ReadError::BadClose)
        };
    };
    let code = u16::from_be_bytes([*high, *low]);
    // A server may also close with the codes registered since RFC 6455 for servers (1012
    // restart, 1013 try again later — the service's own "too slow to receive" — and 1014
    // bad gateway).
    let from_server = role == Role::Client && matches!(code, 1012..=1014);
    let allowed = from_server || matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999);
    let reason = std::str::from_utf8(reason).map_err(|_| ReadError::BadClose)?;
    if !allowed {
        return Err(ReadError::BadClose);
    }
    Ok(Some((code, reason.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::super::deflate::compress;
    use super::super::frame::{masked_frame, server_frame};
    use super::super::prepared::PreparedMessage;
    use super::*;

    const MASK: [u8; 4] = [0xA1, 0x02, 0x7C, 0x3B];

    /// A client frame: `first` byte (FIN, RSV1, opcode) and `payload`, masked.
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        masked_frame(first, payload, MASK)
    }

    /// Everything `reader` makes of `input` fed one byte at a time.
    fn read_bytewise(reader: &mut MessageReader, input: &[u8]) -> Result<Vec<Incoming>, ReadError> {
        let mut read = Vec::new();
        for byte in input {
            reader.buffer().extend_from_slice(&[*byte]);
            while let Some(incoming) = reader.next_incoming()? {
                read.push(incoming);
            }
        }
        Ok(read)
    }

    #[test]
    fn fragments_come_together_around_control_frames() {
        let input = [
            frame(0x01, b"{\"endpoint\":"),
            frame(0x89, b"are you there"),
            frame(0x00, b"\"social:getSession\","),
            frame(0x8A, b""),
            frame(0x80, b"\"data\":{}}"),
            frame(0x82, &[0, 159, 146, 150]),
            frame(0x88, &[0x03, 0xE8, b'b', b'y', b'e']),
        ]
        .concat();
        let read = read_bytewise(&mut MessageReader::new(1024, false), &input).unwrap();
        assert_eq!(
            read,
            [
                Incoming::Ping(Bytes::from_static(b"are you there")),
                Incoming::Pong(Bytes::new()),
                Incoming::Text(Bytes::from_static(
                    br#"{"endpoint":"social:getSession","data":{}}"#
                )),
                Incoming::Binary(Bytes::from_static(&[0, 159, 146, 150])),
                Incoming::Close(Some((1000, "bye".to_owned()))),
            ]
        );
    }

    #[test]
    fn compressed_and_plain_messages_mix() {
        let text = br#"{"endpoint":"social:getSessions","data":{"eventId":"e1","limit":500,"after":null}}"#
            .repeat(20);
        let compressed = compress(&text).unwrap();
        let (first, rest) = compressed.split_at(compressed.len() / 2);
        let input = [
            frame(0x41, first),
            frame(0x89, b""),
            frame(0x80, rest),
            frame(0x81, b"plain"),
            frame(0xC1, &compressed),
        ]
        .concat();
        let read = read_bytewise(&mut MessageReader::new(4096, true), &input).unwrap();
        let text = Bytes::from(text);
        assert_eq!(
            read,
            [
                Incoming::Ping(Bytes::new()),
                Incoming::Text(text.clone()),
                Incoming::Text(Bytes::from_static(b"plain")),
                Incoming::Text(text),
            ]
        );
    }

    #[test]
    fn a_message_over_the_limit_is_refused_as_soon_as_its_size_is_known() {
        let mut reader = MessageReader::new(100, false);
        let big = frame(0x81, &[b'x'; 1000]);
        reader.buffer().extend_from_slice(&big[..300]);
        // The header says 1,000 bytes: refused at once, with what has not arrived of it.
        assert_eq!(
            reader.next_incoming(),
            Err(ReadError::TooLarge {
                limit: 100,
                unread: 1000 - (300 - 8) as u64
            })
        );
        // Fragments add up.
        let mut reader = MessageReader::new(100, false);
        let input = [frame(0x01, &[b'x'; 60]), frame(0x80, &[b'x'; 60])].concat();
        assert!(matches!(
            read_bytewise(&mut reader, &input),
            Err(ReadError::TooLarge { limit: 100, .. })
        ));
        // A small compressed message that inflates past the limit.
        let bomb = compress(&vec![b'a'; 100_000]).unwrap();
        assert!(bomb.len() < 1000);
        let mut reader = MessageReader::new(1000, true);
        let refused = read_bytewise(&mut reader, &frame(0xC1, &bomb)).unwrap_err();
        assert_eq!(refused.close_code(), 1009);
        // Exactly the limit is read.
        let mut reader = MessageReader::new(100, false);
        let read = read_bytewise(&mut reader, &frame(0x81, &[b'y'; 100])).unwrap();
        assert_eq!(read, [Incoming::Text(Bytes::from(vec![b'y'; 100]))]);
    }

    #[test]
    fn broken_input_ends_the_connection_with_its_close_code() {
        let cases: [(Vec<u8>, bool, u16); 8] = [
            (frame(0x80, b"x"), false, 1002),
            ([frame(0x01, b"x"), frame(0x81, b"y")].concat(), false, 1002),
            (frame(0x81, &[0xC3, 0x28]), false, 1007),
            (
                [frame(0x01, &[0xE2, 0x82]), frame(0x80, &[0x28])].concat(),
                false,
                1007,
            ),
            (frame(0xC1, &[0xFF; 16]), true, 1007),
            (frame(0x88, &[0x03]), false, 1002),
            (frame(0x88, &[0x03, 0xED]), false, 1002),
            (frame(0x88, &[0x03, 0xE8, 0xFF]), false, 1002),
        ];
        for (input, compression, code) in cases {
            let mut reader = MessageReader::new(1024, compression);
            let error = read_bytewise(&mut reader, &input).unwrap_err();
            assert_eq!(error.close_code(), code, "{error} for {input:x?}");
        }
        // A character split between fragments is fine.
        let input = [frame(0x01, &[0xE2, 0x82]), frame(0x80, &[0xAC])].concat();
        let read = read_bytewise(&mut MessageReader::new(16, false), &input).unwrap();
        assert_eq!(read, [Incoming::Text(Bytes::from("€"))]);
        // An empty close frame has no code.
        let read = read_bytewise(&mut MessageReader::new(16, false), &frame(0x88, b"")).unwrap();
        assert_eq!(read, [Incoming::Close(None)]);
    }

    #[test]
    fn a_client_reads_the_services_frames_and_refuses_masked_ones() {
        let text = Bytes::from(
            br#"{"endpoint":"social:sessionUpdated","data":{"session":{"title":"Keynote"}}}"#
                .repeat(40),
        );
        let prepared = PreparedMessage::text(text.clone());
        let input = [
            prepared.frame(true).to_vec(),
            server_frame(OpCode::Ping, false, b"hi").to_vec(),
            prepared.frame(false).to_vec(),
            // The service's own close when a client reads too slowly.
            server_frame(OpCode::Close, false, &[0x03, 0xF5]).to_vec(),
        ]
        .concat();
        assert_eq!(input[0], 0xC1, "the first frame is compressed");
        let read = read_bytewise(&mut MessageReader::client(64 * 1024, true), &input).unwrap();
        assert_eq!(
            read,
            [
                Incoming::Text(text.clone()),
                Incoming::Ping(Bytes::from_static(b"hi")),
                Incoming::Text(text),
                Incoming::Close(Some((1013, String::new()))),
            ]
        );
        // A masked frame is a protocol error at a client's end, and 1013 from a client
        // stays one at the service's.
        let masked = frame(0x81, b"x");
        let error = read_bytewise(&mut MessageReader::client(1024, false), &masked).unwrap_err();
        assert_eq!(error, ReadError::Protocol(ProtocolError::Masked));
        let error = read_bytewise(
            &mut MessageReader::new(1024, false),
            &frame(0x88, &[0x03, 0xF5]),
        )
        .unwrap_err();
        assert_eq!(error, ReadError::BadClose);
    }
}
