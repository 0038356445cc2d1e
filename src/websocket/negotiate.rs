//! Agreeing on permessage-deflate (RFC 7692 §5, §7.1) from a client's
//! `Sec-WebSocket-Extensions` offers.
//!
//! The service's answer is always `permessage-deflate; server_no_context_takeover;
//! client_no_context_takeover`: each message is compressed on its own, so that one
//! compressed push is valid for every recipient (and is compressed once), and a client's
//! message is inflated on its own, so that no connection keeps a compression window
//! between messages (a connection with compression costs no more memory while idle than
//! one without). The first offer the service can honour is taken; an offer that asks for
//! a server window smaller than 32 KiB (which the compressor cannot keep to), or that has
//! unknown, repeated or malformed parameters, is passed over; with none left, messages go
//! uncompressed.

/// The extension's name.
const NAME: &str = "permessage-deflate";

/// The `Sec-WebSocket-Extensions` answer when compression is agreed.
pub const AGREED: &str =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/// Whether one of the offers in the `Sec-WebSocket-Extensions` header values `offers`
/// (each a comma-separated list) can be honoured: then the answer is [`AGREED`].
pub fn agrees<'a>(offers: impl IntoIterator<Item = &'a str>) -> bool {
    offers
        .into_iter()
        .flat_map(|value| value.split(','))
        .any(|offer| can_honour(offer.trim()))
}

/// Whether `offer` (`permessage-deflate; param[=value]; …`) can be honoured.
fn can_honour(offer: &str) -> bool {
    let mut parts = offer.split(';').map(str::trim);
    if parts.next() != Some(NAME) {
        return false;
    }
    let mut seen: Vec<&str> = Vec::new();
    for parameter in parts {
        let (name, value) = match parameter.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (parameter, None),
        };
        if seen.contains(&name) {
            return false;
        }
        seen.push(name);
        let honoured = match (name, value) {
            ("server_no_context_takeover" | "client_no_context_takeover", None) => true,
            // A smaller server window than 2^15 is a promise the compressor cannot keep.
            ("server_max_window_bits", Some(bits)) => window_bits(bits) == Some(15),
            // The client may compress with any window: inflating takes up to 2^15.
            ("client_max_window_bits", None) => true,
            ("client_max_window_bits", Some(bits)) => window_bits(bits).is_some(),
            _ => false,
        };
        if !honoured {
            return false;
        }
    }
    true
}

/// A window size parameter: 8 to 15, written without leading zeros.
fn window_bits(text: &str) -> Option<u8> {
    let bits: u8 = text.parse().ok()?;
    ((8..=15).contains(&bits) && !text.starts_with('0')).then_some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offers_of_browsers_and_common_clients_are_agreed() {
        for offer in [
            // Chromium, Firefox, Python `websockets`, Node `ws`.
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate",
            "permessage-deflate; client_max_window_bits=15; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=15",
            "x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover",
        ] {
            assert!(agrees([offer]), "{offer}");
        }
        assert!(agrees(["x-unknown", "permessage-deflate"]));
    }

    #[test]
    fn offers_the_service_cannot_honour_are_passed_over() {
        for offer in [
            "",
            "x-webkit-deflate-frame",
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=08",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; unknown_parameter",
            "permessage-deflatex",
        ] {
            assert!(!agrees([offer]), "{offer:?}");
        }
        // A later offer that can be honoured is taken.
        assert!(agrees([
            "permessage-deflate; server_max_window_bits=9, permessage-deflate"
        ]));
    }
}
