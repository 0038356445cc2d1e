//! The permessage-deflate codec (RFC 7692 §7.2) with no context takeover: a message
//! compressed on its own (raw DEFLATE, flushed, without the final `00 00 ff ff`), and a
//! client's compressed message inflated on its own, with the frame size limit applied to
//! what it inflates to — the first byte past the limit stops it, so a small frame that
//! would inflate to gigabytes costs no more than the limit.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The bytes a flushed DEFLATE block ends with, left off the wire (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];
/// Messages shorter than this are sent as they are: compressing them saves nothing.
pub const MIN_COMPRESSED_BYTES: usize = 64;

/// `message` compressed for a permessage-deflate frame (fastest level: pushes are
/// compressed on the delivery path), or `None` when that would not make it smaller.
pub fn compress(message: &[u8]) -> Option<Vec<u8>> {
    if message.len() < MIN_COMPRESSED_BYTES {
        return None;
    }
    crate::metrics::message_compressed();
    COMPRESSOR.with_borrow_mut(|compressor| compress_with(compressor, message))
}

thread_local! {
    /// The thread's compressor, reset before each message (no context is taken over):
    /// making one costs more than compressing an answer of a few kilobytes with it.
    static COMPRESSOR: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), false));
}

/// [`compress`] with `compressor`, which is reset first.
fn compress_with(compressor: &mut Compress, message: &[u8]) -> Option<Vec<u8>> {
    compressor.reset();
    // Enough for a flushed block of incompressible input, most of the time at once.
    let mut output = Vec::with_capacity(message.len() + message.len() / 16 + 64);
    loop {
        let consumed = compressor.total_in() as usize;
        compressor
            .compress_vec(&message[consumed..], &mut output, FlushCompress::Sync)
            .ok()?;
        // The flush is complete once all is read and the output did not fill up.
        if compressor.total_in() as usize == message.len() && output.len() < output.capacity() {
            break;
        }
        output.reserve(output.capacity());
    }
    output.strip_suffix(&TAIL)?;
    output.truncate(output.len() - TAIL.len());
    (output.len() < message.len()).then_some(output)
}

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// It inflates past the limit (close 1009).
    #[error("the message inflates to more than {limit} bytes")]
    TooLarge { limit: usize },
    /// It is not valid DEFLATE data (close 1007).
    #[error("the message is not valid DEFLATE data")]
    Corrupt,
}

/// One compressed message being inflated, fed frame by frame.
pub struct Inflater {
    decompressor: Decompress,
    output: Vec<u8>,
    limit: usize,
}

impl Inflater {
    /// An inflater whose output may reach `limit` bytes.
    pub fn new(limit: usize) -> Inflater {
        Inflater {
            decompressor: Decompress::new(false),
            output: Vec::new(),
            limit,
        }
    }

    /// Inflates one frame's payload of the message.
    pub fn feed(&mut self, payload: &[u8]) -> Result<(), InflateError> {
        let mut input = payload;
        let mut buffer = [0_u8; 16 * 1024];
        loop {
            let (read_before, written_before) =
                (self.decompressor.total_in(), self.decompressor.total_out());
            let status = self
                .decompressor
                .decompress(input, &mut buffer, FlushDecompress::None)
                .map_err(|_| InflateError::Corrupt)?;
            let read = (self.decompressor.total_in() - read_before) as usize;
            let written = (self.decompressor.total_out() - written_before) as usize;
            input = &input[read..];
            if self.output.len() + written > self.limit {
                return Err(InflateError::TooLarge { limit: self.limit });
            }
            self.output.extend_from_slice(&buffer[..written]);
            match status {
                // A final block ends the message (a client may set BFINAL).
                Status::StreamEnd => return Ok(()),
                _ if read == 0 && written == 0 => {
                    return if input.is_empty() {
                        Ok(())
                    } else {
                        Err(InflateError::Corrupt)
                    };
                }
                _ if input.is_empty() && written < buffer.len() => return Ok(()),
                _ => {}
            }
        }
    }

    /// The whole message, once its last frame was fed.
    pub fn finish(mut self) -> Result<Vec<u8>, InflateError> {
        self.feed(&TAIL)?;
        Ok(self.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_like(sessions: usize) -> Vec<u8> {
        let session = r#"{"id":"01a2244b-8f65-713e-941f-58a620b880b1","title":"Keynote","invitedUsers":[{"user":{"id":"grace","firstName":"Grace","lastName":"Hopper"},"role":1,"status":0}]}"#;
        let mut message =
            String::from(r#"{"endpoint":"social:propSessionsUpdated","data":{"sessions":["#);
        message.push_str(&vec![session; sessions].join(","));
        message.push_str("]}}");
        message.into_bytes()
    }

    #[test]
    fn a_message_compresses_once_and_inflates_to_itself_in_any_split() {
        let message = push_like(500);
        let compressed = compress(&message).unwrap();
        assert!(
            compressed.len() * 7 < message.len(),
            "{} of {}",
            compressed.len(),
            message.len()
        );
        assert!(!compressed.ends_with(&TAIL));
        for parts in [1, 2, 7, 1000] {
            let mut inflater = Inflater::new(message.len());
            for chunk in compressed.chunks(compressed.len().div_ceil(parts)) {
                inflater.feed(chunk).unwrap();
            }
            assert_eq!(inflater.finish().unwrap(), message, "{parts} parts");
        }
    }

    #[test]
    fn short_or_incompressible_messages_are_sent_as_they_are() {
        assert_eq!(compress(br#"{"endpoint":"social:resync","data":{}}"#), None);
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                // xorshift64: bytes with nothing to compress.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        assert_eq!(compress(&noise), None);
    }

    #[test]
    fn a_message_inflating_past_the_limit_stops_at_the_limit() {
        let bomb = compress(&vec![b'a'; 16 * 1024 * 1024]).unwrap();
        assert!(bomb.len() < 128 * 1024, "{}", bomb.len());
        let mut inflater = Inflater::new(1024 * 1024);
        let refused = bomb
            .chunks(16 * 1024)
            .try_for_each(|chunk| inflater.feed(chunk));
        assert_eq!(refused, Err(InflateError::TooLarge { limit: 1024 * 1024 }));
        assert!(inflater.output.len() <= 1024 * 1024);
        // Exactly the limit is accepted.
        let message = vec![b'b'; 1000];
        let mut inflater = Inflater::new(1000);
        inflater.feed(&compress(&message).unwrap()).unwrap();
        assert_eq!(inflater.finish().unwrap(), message);
    }

    #[test]
    fn data_that_is_not_deflate_is_corrupt() {
        let mut inflater = Inflater::new(1024);
        let fed = inflater.feed(&[0xFF; 32]);
        assert_eq!(
            fed.and_then(|()| inflater.finish().map(drop)),
            Err(InflateError::Corrupt)
        );
    }
}
