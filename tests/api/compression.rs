//! permessage-deflate (RFC 7692) with a client of the test's own, frame by frame over TCP:
//! agreed when offered (with no context takeover either way), pushes and answers arrive
//! compressed and inflate to what an uncompressed client receives, compressed requests
//! in fragments with control frames between them are answered, and a small compressed
//! frame that inflates past the limit is refused (413, close 1009) without being
//! inflated further.

use serde_json::{Value, json};
use social_events::websocket::deflate::{Inflater, compress};
use social_events::websocket::frame::masked_frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, create_session, session_fields, spawn_app, spawn_app_with, unique};

const MASK: [u8; 4] = [0x5A, 0x11, 0xC3, 0x07];

/// A frame the service sent: its opcode, whether it was compressed, and its payload
/// (inflated).
#[derive(Debug)]
struct Received {
    opcode: u8,
    compressed: bool,
    payload: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap()
    }
}

/// A WebSocket client written frame by frame.
struct RawClient {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// The `Sec-WebSocket-Extensions` the service answered, if any.
    agreed: Option<String>,
}

impl RawClient {
    /// Connects as `user` offering `extensions`.
    async fn connect(app: &TestApp, user: &str, extensions: Option<&str>) -> RawClient {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        let offer = extensions
            .map(|offer| format!("Sec-WebSocket-Extensions: {offer}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET /api/v0/ws?token={} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n{offer}\r\n",
            app.token(user),
            app.addr
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buffer = Vec::new();
        let end = loop {
            let mut chunk = [0; 1024];
            let read = stream.read(&mut chunk).await.unwrap();
            assert!(read > 0, "the connection closed during the upgrade");
            buffer.extend_from_slice(&chunk[..read]);
            if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                break end + 4;
            }
        };
        let head = String::from_utf8(buffer[..end].to_vec()).unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let agreed = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-extensions")
                .then(|| value.trim().to_owned())
        });
        RawClient {
            stream,
            buffer: buffer[end..].to_vec(),
            agreed,
        }
    }

    /// Sends one frame: `first` is its first byte (FIN, RSV1, opcode).
    async fn send_frame(&mut self, first: u8, payload: &[u8]) {
        let frame = masked_frame(first, payload, MASK);
        self.stream.write_all(&frame).await.unwrap();
    }

    /// Sends `frame` as one compressed text frame.
    async fn send_compressed(&mut self, frame: &Value) {
        let compressed = compress(frame.to_string().as_bytes()).unwrap();
        self.send_frame(0xC1, &compressed).await;
    }

    async fn fill(&mut self, bytes: usize) {
        while self.buffer.len() < bytes {
            let mut chunk = [0; 16 * 1024];
            let read = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                self.stream.read(&mut chunk),
            )
            .await
            .expect("a frame arrives")
            .unwrap();
            assert!(read > 0, "the connection closed");
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }

    /// The next frame the service sends.
    async fn receive(&mut self) -> Received {
        self.fill(2).await;
        let (first, second) = (self.buffer[0], self.buffer[1]);
        assert_eq!(second & 0x80, 0, "a server frame is not masked");
        let (length, header) = match second & 0x7F {
            126 => {
                self.fill(4).await;
                (
                    u16::from_be_bytes([self.buffer[2], self.buffer[3]]) as usize,
                    4,
                )
            }
            127 => {
                self.fill(10).await;
                let bytes: [u8; 8] = self.buffer[2..10].try_into().unwrap();
                (u64::from_be_bytes(bytes) as usize, 10)
            }
            short => (short as usize, 2),
        };
        self.fill(header + length).await;
        let payload: Vec<u8> = self.buffer.drain(..header + length).skip(header).collect();
        assert!(first & 0x80 != 0, "the service sends whole messages");
        let compressed = first & 0x40 != 0;
        let payload = if compressed {
            let mut inflater = Inflater::new(16 * 1024 * 1024);
            inflater.feed(&payload).unwrap();
            inflater.finish().unwrap()
        } else {
            payload
        };
        Received {
            opcode: first & 0x0F,
            compressed,
            payload,
        }
    }

    /// The next text frame whose endpoint is `endpoint`.
    async fn receive_json(&mut self, endpoint: &str) -> Received {
        loop {
            let received = self.receive().await;
            if received.opcode == 1 && received.json()["endpoint"] == endpoint {
                return received;
            }
        }
    }
}

#[tokio::test]
async fn compression_is_agreed_when_offered_and_pushes_arrive_compressed() {
    let app = spawn_app().await;
    let owner = unique("owner");
    let (compressing, plain) = (unique("compressing"), unique("plain"));
    let mut compressed_client = RawClient::connect(
        &app,
        &compressing,
        Some("permessage-deflate; client_max_window_bits"),
    )
    .await;
    assert_eq!(
        compressed_client.agreed.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    );
    let mut plain_client = RawClient::connect(&app, &plain, None).await;
    assert_eq!(plain_client.agreed, None);
    let mut unhonoured = RawClient::connect(
        &app,
        &plain,
        Some("permessage-deflate; server_max_window_bits=9"),
    )
    .await;
    assert_eq!(unhonoured.agreed, None);
    drop(unhonoured.stream.shutdown().await);

    let mut creator = app.connect(&owner).await;
    let invitees = json!([{ "userId": compressing }, { "userId": plain }]);
    create_session(
        &mut creator,
        session_fields("Compressed keynote", 60),
        invitees,
    )
    .await;
    let compressed_push = compressed_client
        .receive_json("social:sessionUpdated")
        .await;
    let plain_push = plain_client.receive_json("social:sessionUpdated").await;
    assert!(compressed_push.compressed);
    assert!(!plain_push.compressed);
    let (compressed_push, plain_push) = (compressed_push.json(), plain_push.json());
    assert_eq!(
        compressed_push["data"]["session"]["title"],
        "Compressed keynote"
    );
    assert_eq!(compressed_push["event"], plain_push["event"]);
}

#[tokio::test]
async fn compressed_requests_in_fragments_with_control_frames_between_are_answered() {
    let app = spawn_app().await;
    let user = unique("fragments");
    let mut client = RawClient::connect(&app, &user, Some("permessage-deflate")).await;
    let request = json!({
        "endpoint": "social:getEvents",
        "data": { "source": "network:fragments", "limit": 10 },
        "event": { "id": "compressed-in-parts" },
    });
    let compressed = compress(request.to_string().as_bytes()).unwrap();
    let (first, rest) = compressed.split_at(compressed.len() / 2);
    client.send_frame(0x41, first).await; // text, compressed, not final
    client.send_frame(0x89, b"still there?").await; // ping between the fragments
    client.send_frame(0x80, rest).await; // final continuation
    client
        .send_frame(
            0x81,
            json!({"endpoint": "social:getEvents", "data": {"source": "network:fragments"}, "event": {"id": "plain"}})
                .to_string()
                .as_bytes(),
        )
        .await;
    let pong = client.receive().await;
    assert_eq!(
        (pong.opcode, pong.payload.as_slice()),
        (0xA, &b"still there?"[..])
    );
    // Requests are worked on at the same time: their answers come in either order.
    let mut answered = Vec::new();
    for _ in 0..2 {
        let answer = client.receive_json("social:getEvents").await.json();
        assert_eq!(answer["error"]["code"], 0, "{answer}");
        assert_eq!(answer["data"]["events"], json!([]));
        answered.push(
            answer["event"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    answered.sort();
    assert_eq!(answered, ["compressed-in-parts", "plain"]);
    // A close is answered with a close.
    client.send_frame(0x88, &1000_u16.to_be_bytes()).await;
    let close = client.receive().await;
    assert_eq!(close.opcode, 0x8);
    assert_eq!(close.payload[..2], 1000_u16.to_be_bytes());
}

#[tokio::test]
async fn a_small_compressed_frame_that_inflates_past_the_limit_is_refused() {
    let app = spawn_app_with(|settings| settings.connection.max_frame_bytes = 1024).await;
    // Past the limit but within twice it (or 64 KiB): read whole, refused naming its id.
    let mut client = RawClient::connect(&app, &unique("big"), Some("permessage-deflate")).await;
    let padded = json!({
        "endpoint": "social:getEvents",
        "data": { "source": "network:x", "padding": "p".repeat(8 * 1024) },
        "event": { "id": "too-big" },
    });
    client.send_compressed(&padded).await;
    let refused = client.receive_json("social:getEvents").await.json();
    assert_eq!(refused["error"]["code"], 413, "{refused}");
    assert_eq!(refused["event"]["id"], "too-big");
    let close = client.receive().await;
    assert_eq!(close.opcode, 0x8);
    assert_eq!(close.payload[..2], 1009_u16.to_be_bytes());

    // A bomb: 1 MiB that compresses to a few kilobytes, refused once 64 KiB are inflated.
    let mut client = RawClient::connect(&app, &unique("bomb"), Some("permessage-deflate")).await;
    let bomb = compress(&vec![b' '; 1024 * 1024]).unwrap();
    assert!(bomb.len() < 8 * 1024, "{}", bomb.len());
    client.send_frame(0xC1, &bomb).await;
    let refused = client.receive().await;
    assert_eq!(refused.json()["error"]["code"], 413, "{:?}", refused.json());
    let close = client.receive().await;
    assert_eq!(close.opcode, 0x8);
    assert_eq!(close.payload[..2], 1009_u16.to_be_bytes());
}
