//! A message prepared once for every socket it goes to: its whole frame as it is, and —
//! made at the first recipient that agreed on compression, once however many there are
//! — its whole compressed frame (or none, when compressing does not make it smaller).
//! Each socket is written the shared bytes of one of them: no copy, no work per socket.

use std::sync::OnceLock;

use bytes::Bytes;

use super::deflate;
use super::frame::{OpCode, server_frame};

/// A text message and its frames.
#[derive(Debug)]
pub struct PreparedMessage {
    text: Bytes,
    plain: OnceLock<Bytes>,
    compressed: OnceLock<Option<Bytes>>,
}

impl PreparedMessage {
    /// The text message `text`; each of its frames is made at its first recipient.
    pub fn text(text: Bytes) -> PreparedMessage {
        PreparedMessage {
            text,
            plain: OnceLock::new(),
            compressed: OnceLock::new(),
        }
    }

    /// The message's text.
    pub fn payload(&self) -> &Bytes {
        &self.text
    }

    /// The whole frame for a socket: compressed when the socket agreed on compression and
    /// compressing makes it smaller.
    pub fn frame(&self, compression: bool) -> Bytes {
        if compression
            && let Some(compressed) = self.compressed.get_or_init(|| {
                deflate::compress(&self.text)
                    .map(|payload| server_frame(OpCode::Text, true, &payload))
            })
        {
            return compressed.clone();
        }
        self.plain
            .get_or_init(|| server_frame(OpCode::Text, false, &self.text))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::super::deflate::Inflater;
    use super::*;

    #[test]
    fn a_message_is_compressed_once_for_all_its_recipients() {
        let text = Bytes::from(format!(
            r#"{{"sessions":[{}]}}"#,
            vec![r#"{"title":"Keynote"}"#; 200].join(",")
        ));
        let prepared = PreparedMessage::text(text.clone());
        let frames: Vec<Bytes> = (0..100)
            .map(|recipient| prepared.frame(recipient % 2 == 0))
            .collect();
        let (compressed, plain) = (&frames[0], &frames[1]);
        assert_eq!(compressed[0], 0xC1);
        assert_eq!(plain[0], 0x81);
        assert!(compressed.len() * 5 < plain.len());
        // The same bytes for every recipient of each kind: compressed once.
        assert!(
            frames
                .iter()
                .step_by(2)
                .all(|frame| frame.as_ptr() == compressed.as_ptr())
        );
        assert!(
            frames
                .iter()
                .skip(1)
                .step_by(2)
                .all(|frame| frame.as_ptr() == plain.as_ptr())
        );
        // The compressed frame inflates to the text.
        let payload_start = match compressed[1] {
            126 => 4,
            127 => 10,
            _ => 2,
        };
        let mut inflater = Inflater::new(text.len());
        inflater.feed(&compressed[payload_start..]).unwrap();
        assert_eq!(inflater.finish().unwrap(), text);
    }

    #[test]
    fn a_short_message_goes_plain_to_everyone() {
        let prepared = PreparedMessage::text(Bytes::from_static(
            br#"{"endpoint":"social:resync","data":{}}"#,
        ));
        assert_eq!(prepared.frame(true), prepared.frame(false));
        assert_eq!(prepared.frame(true)[0], 0x81);
    }
}
