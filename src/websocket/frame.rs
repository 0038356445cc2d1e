//! WebSocket frames (RFC 6455 §5): the header of a frame the service sends (never masked)
//! written in front of its payload in one buffer, and the header of a frame a client sends,
//! read and checked — what may not arrive (unknown opcodes, reserved bits, unmasked or
//! fragmented control frames, lengths past 2^63) is a protocol error (close 1002). The
//! same reading serves a client's end too (the load tool's client reads the service's
//! frames with it): there every frame must arrive unmasked ([`Role`]).

use bytes::{BufMut, Bytes, BytesMut};

/// A frame's opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl OpCode {
    fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// Whether frames of this opcode are control frames (close, ping, pong).
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// Largest payload of a control frame.
pub const MAX_CONTROL_PAYLOAD: usize = 125;
/// Longest header: 2 bytes, 8 of extended length, 4 of mask.
pub const MAX_HEADER_BYTES: usize = 14;

const FIN: u8 = 0x80;
const RSV1: u8 = 0x40;
const RSV2_3: u8 = 0x30;
const MASKED: u8 = 0x80;

/// A whole unfragmented frame as the service sends it (unmasked): its header and
/// `payload` in one buffer, so that one frame shared by many sockets is written to each
/// with one write and no copy. `compressed` sets RSV1: the payload is a message
/// compressed with permessage-deflate.
pub fn server_frame(opcode: OpCode, compressed: bool, payload: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(MAX_HEADER_BYTES + payload.len());
    let first = FIN | if compressed { RSV1 } else { 0 } | opcode.bits();
    frame.put_u8(first);
    match payload.len() {
        length @ 0..=125 => frame.put_u8(length as u8),
        length @ 126..=0xFFFF => {
            frame.put_u8(126);
            frame.put_u16(length as u16);
        }
        length => {
            frame.put_u8(127);
            frame.put_u64(length as u64);
        }
    }
    frame.put_slice(payload);
    frame.freeze()
}

/// A whole frame as a client sends it: `first` is its first byte as given (FIN, RSV bits,
/// opcode — a client of the service's own, or a test sending what a client may not), the
/// payload masked with `mask`.
pub fn masked_frame(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(MAX_HEADER_BYTES + payload.len());
    frame.push(first);
    match payload.len() {
        length @ 0..=125 => frame.push(MASKED | length as u8),
        length @ 126..=0xFFFF => {
            frame.push(MASKED | 126);
            frame.extend((length as u16).to_be_bytes());
        }
        length => {
            frame.push(MASKED | 127);
            frame.extend((length as u64).to_be_bytes());
        }
    }
    frame.extend(mask);
    let start = frame.len();
    frame.extend_from_slice(payload);
    unmask(&mut frame[start..], mask, 0);
    frame
}

/// The end of the connection that reads: the service is the server; a client of the
/// service's own (the load tool's) is the client.
///
/// RFC 6455 §5.1: a client masks every frame it sends and a server masks none, and each
/// end closes the connection on a frame of the other kind — so the reader must know which
/// end it is to tell a broken frame from a good one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reads a client's frames: each must be masked.
    Server,
    /// Reads a server's frames: none may be masked.
    Client,
}

/// A frame's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The last frame of its message.
    pub fin: bool,
    /// Set on the first frame of a compressed message (permessage-deflate).
    pub compressed: bool,
    pub opcode: OpCode,
    /// The key the payload is masked with: a client's frames have one, a server's none.
    pub mask: Option<[u8; 4]>,
    /// The payload's length, in bytes.
    pub length: u64,
}

/// Why a frame breaks the protocol (close 1002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("a frame used the reserved opcode {0:#x}")]
    UnknownOpCode(u8),
    #[error("a frame set reserved bits")]
    ReservedBits,
    #[error(
        "a compressed frame arrived where no compression was agreed, or on a control or continuation frame"
    )]
    UnexpectedCompression,
    #[error("a client frame was not masked")]
    Unmasked,
    #[error("a server frame was masked")]
    Masked,
    #[error("a control frame was fragmented or longer than 125 bytes")]
    BadControlFrame,
    #[error("a frame's length used its most significant bit")]
    BadLength,
}

/// Reads the header at the start of `bytes`, as the end `role` of the connection:
/// `Ok(None)` when more bytes are needed, else the header and its length in bytes.
/// `compression` says whether permessage-deflate was agreed (only then may RSV1 be set,
/// on the first frame of a data message).
pub fn read_header(
    bytes: &[u8],
    compression: bool,
    role: Role,
) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    let [first, second, ..] = *bytes else {
        return Ok(None);
    };
    let opcode =
        OpCode::from_bits(first & 0x0F).ok_or(ProtocolError::UnknownOpCode(first & 0x0F))?;
    if first & RSV2_3 != 0 {
        return Err(ProtocolError::ReservedBits);
    }
    let fin = first & FIN != 0;
    let compressed = first & RSV1 != 0;
    if compressed && (!compression || opcode.is_control() || opcode == OpCode::Continuation) {
        return Err(ProtocolError::UnexpectedCompression);
    }
    let masked = second & MASKED != 0;
    match (role, masked) {
        (Role::Server, false) => return Err(ProtocolError::Unmasked),
        (Role::Client, true) => return Err(ProtocolError::Masked),
        _ => {}
    }
    let (length, at) = match second & 0x7F {
        126 => match bytes.get(2..4) {
            Some(extended) => (u64::from(u16::from_be_bytes([extended[0], extended[1]])), 4),
            None => return Ok(None),
        },
        127 => match bytes
            .get(2..10)
            .and_then(|extended| <[u8; 8]>::try_from(extended).ok())
        {
            Some(extended) => (u64::from_be_bytes(extended), 10),
            None => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    if length >> 63 != 0 {
        return Err(ProtocolError::BadLength);
    }
    if opcode.is_control() && (!fin || length > MAX_CONTROL_PAYLOAD as u64) {
        return Err(ProtocolError::BadControlFrame);
    }
    let (mask, header_bytes) = if masked {
        match bytes
            .get(at..at + 4)
            .and_then(|mask| <[u8; 4]>::try_from(mask).ok())
        {
            Some(mask) => (Some(mask), at + 4),
            None => return Ok(None),
        }
    } else {
        (None, at)
    };
    let header = FrameHeader {
        fin,
        compressed,
        opcode,
        mask,
        length,
    };
    Ok(Some((header, header_bytes)))
}

/// Unmasks `payload` with `mask`, `offset` bytes into the frame's payload (a payload read
/// in parts).
pub fn unmask(payload: &mut [u8], mask: [u8; 4], offset: usize) {
    for (index, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[(offset + index) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_frame_has_the_shortest_length_encoding_and_no_mask() {
        for (length, header) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
            let payload = vec![b'x'; length];
            let frame = server_frame(OpCode::Text, false, &payload);
            assert_eq!(frame.len(), header + length, "{length}");
            assert_eq!(frame[0], 0x81);
            assert_eq!(frame[1] & MASKED, 0);
            assert_eq!(&frame[header..], &payload[..]);
        }
        assert_eq!(server_frame(OpCode::Text, true, b"x")[0], 0xC1);
        assert_eq!(
            server_frame(OpCode::Close, false, &[0x03, 0xE8])[..2],
            [0x88, 2]
        );
    }

    #[test]
    fn a_client_header_is_read_once_it_is_whole_and_its_payload_unmasked() {
        let mask = [0x37, 0xFA, 0x21, 0x3D];
        for length in [0, 5, 125, 126, 70_000] {
            let payload: Vec<u8> = (0..length).map(|index| index as u8).collect();
            let frame = masked_frame(0x81, &payload, mask);
            let header_bytes = frame.len() - length;
            for cut in 0..header_bytes {
                assert_eq!(
                    read_header(&frame[..cut], false, Role::Server),
                    Ok(None),
                    "{length} cut at {cut}"
                );
            }
            let (header, at) = read_header(&frame, false, Role::Server).unwrap().unwrap();
            assert_eq!(at, header_bytes);
            assert_eq!(header.length, length as u64);
            assert!(header.fin && !header.compressed);
            assert_eq!(header.opcode, OpCode::Text);
            let mut body = frame[at..].to_vec();
            let (front, back) = body.split_at_mut(length / 3);
            let mask = header.mask.unwrap();
            unmask(front, mask, 0);
            unmask(back, mask, length / 3);
            assert_eq!(body, payload);
        }
    }

    #[test]
    fn what_a_client_may_not_send_is_a_protocol_error() {
        let mask = [1, 2, 3, 4];
        let cases = [
            (
                masked_frame(0x83, b"", mask),
                false,
                ProtocolError::UnknownOpCode(3),
            ),
            (
                masked_frame(0x91, b"x", mask),
                false,
                ProtocolError::ReservedBits,
            ),
            (
                masked_frame(0xC1, b"x", mask),
                false,
                ProtocolError::UnexpectedCompression,
            ),
            (
                masked_frame(0xC9, b"x", mask),
                true,
                ProtocolError::UnexpectedCompression,
            ),
            (
                masked_frame(0x40, b"x", mask),
                true,
                ProtocolError::UnexpectedCompression,
            ),
            (
                masked_frame(0x09, b"x", mask),
                false,
                ProtocolError::BadControlFrame,
            ),
            (
                masked_frame(0x89, &[0; 126], mask),
                false,
                ProtocolError::BadControlFrame,
            ),
            (vec![0x81, 0x01, b'x'], false, ProtocolError::Unmasked),
            (
                [
                    &[0x82, MASKED | 127][..],
                    &[0x80, 0, 0, 0, 0, 0, 0, 0],
                    &mask,
                ]
                .concat(),
                false,
                ProtocolError::BadLength,
            ),
        ];
        for (frame, compression, expected) in cases {
            assert_eq!(
                read_header(&frame, compression, Role::Server),
                Err(expected),
                "{frame:x?}"
            );
        }
        // Agreed compression allows RSV1 on the first frame of a data message.
        let (header, _) = read_header(&masked_frame(0x41, b"x", mask), true, Role::Server)
            .unwrap()
            .unwrap();
        assert!(header.compressed && !header.fin);
    }

    #[test]
    fn a_client_reads_the_servers_unmasked_frames_and_refuses_masked_ones() {
        for (length, header_bytes) in [(0, 2), (125, 2), (126, 4), (70_000, 10)] {
            let payload = vec![b'x'; length];
            let frame = server_frame(OpCode::Text, true, &payload);
            for cut in 0..header_bytes {
                assert_eq!(
                    read_header(&frame[..cut], true, Role::Client),
                    Ok(None),
                    "{length} cut at {cut}"
                );
            }
            let (header, at) = read_header(&frame, true, Role::Client).unwrap().unwrap();
            assert_eq!(at, header_bytes);
            assert_eq!(header.length, length as u64);
            assert_eq!(header.mask, None);
            assert!(header.fin && header.compressed);
            // The server refuses what a client reads, and the other way round.
            assert_eq!(
                read_header(&frame, true, Role::Server),
                Err(ProtocolError::Unmasked)
            );
        }
        assert_eq!(
            read_header(&masked_frame(0x81, b"x", [1, 2, 3, 4]), false, Role::Client),
            Err(ProtocolError::Masked)
        );
        // The other checks apply at both ends.
        let compressed = server_frame(OpCode::Text, true, b"x");
        assert_eq!(
            read_header(&compressed, false, Role::Client),
            Err(ProtocolError::UnexpectedCompression)
        );
        assert_eq!(
            read_header(&[0x83, 0x00], false, Role::Client),
            Err(ProtocolError::UnknownOpCode(3))
        );
    }
}
