//! The load tool's own WebSocket client, for what the replay client (tungstenite) cannot
//! do or costs too much for: offering permessage-deflate, holding 100,000 idle sockets in
//! one process (a socket here is its TCP stream and nothing else until it reads), and
//! reading a thousand sockets' pushes on the cores the server uses too. It upgrades with
//! `?token=` over a TCP stream with Nagle's algorithm off, optionally from a source
//! address of its own (each loopback address has its own ephemeral ports), and reads the
//! service's frames with the service's own codec (`social_events::websocket`), counting
//! the bytes that arrive on the wire.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use bytes::BytesMut;
use flate2::{Decompress, FlushDecompress};
use futures_util::StreamExt;
use nix::sys::socket::setsockopt;
use nix::sys::socket::sockopt::IpBindAddressNoPort;
use serde_json::{Value, json};
use social_events::websocket::frame::{OpCode, Role, masked_frame, read_header};
use social_events::websocket::reader::{Incoming, MessageReader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::common::{Requester, Server, token_for};

/// The offer of a client that compresses: each message on its own both ways, as the
/// service always answers.
const DEFLATE_OFFER: &str =
    "permessage-deflate; client_no_context_takeover; server_no_context_takeover";
/// Longest answer to the upgrade request the client reads.
const MAX_HANDSHAKE_BYTES: usize = 16 * 1024;
/// Largest message read whole (an answer to a request).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// The buffer [`RawSocket::skim`] reads the socket into.
const SKIM_BUFFER_BYTES: usize = 64 * 1024;
/// What [`RawSocket::skim`] keeps of each message: its first bytes, inflated when it is
/// compressed. A `social:sessionUpdated` push's session title is within its first few
/// hundred bytes (the envelope's endpoint, then the session's id, dates, event, owner,
/// room, prop and type before its title), however many people the session has after it
/// (the fan-out finds every title in these bytes: none is missing).
pub const MESSAGE_START_BYTES: usize = 1024;

/// An upgrade the server answered with another status than `101`.
#[derive(Debug, thiserror::Error)]
#[error("the upgrade was answered {status_line:?}")]
pub struct UpgradeRefused {
    pub status_line: String,
}

impl UpgradeRefused {
    /// Whether the server was busy (`503`: its database calls were at their bound):
    /// worth trying again.
    pub fn busy(&self) -> bool {
        self.status_line.starts_with("HTTP/1.1 503 ")
    }
}

/// What a client offers at the upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// No extension: every message comes uncompressed.
    Plain,
    /// permessage-deflate without context takeover ([`DEFLATE_OFFER`]).
    Deflate,
}

/// One upgraded connection.
pub struct RawSocket {
    stream: TcpStream,
    /// Whether the server agreed on permessage-deflate.
    compression: bool,
    /// The messages read; its buffer holds what arrived right after the `101`.
    messages: MessageReader,
    /// Makes this connection's `event.id`s its own (a repeated id of a write is a retry).
    connection_tag: u64,
    requests: u64,
}

impl RawSocket {
    /// Connects to `server` as `user_id` (from `source`, a local address, when given)
    /// and upgrades, offering what `offer` says; fails unless the server answers `101`
    /// with the right accept key and, to an offer of compression, agrees on it or
    /// declines it.
    pub async fn connect(
        server: SocketAddr,
        source: Option<IpAddr>,
        user_id: &str,
        offer: Offer,
    ) -> anyhow::Result<RawSocket> {
        let socket = TcpSocket::new_v4()?;
        if let Some(source) = source {
            // The port is chosen at `connect`, where only the connection's four parts must
            // be unique: chosen by `bind`, it is searched for among every port bound on
            // the machine, slower with each socket open — past 10,000 sockets that search
            // took most of this process's CPU and measured the tool, not the server.
            setsockopt(&socket, IpBindAddressNoPort, &true)?;
            socket
                .bind(SocketAddr::new(source, 0))
                .with_context(|| format!("cannot bind to {source}"))?;
        }
        let mut stream = socket
            .connect(server)
            .await
            .with_context(|| format!("cannot connect to {server} from {source:?}"))?;
        stream.set_nodelay(true)?;
        let key = generate_key();
        let extensions = match offer {
            Offer::Plain => String::new(),
            Offer::Deflate => format!("Sec-WebSocket-Extensions: {DEFLATE_OFFER}\r\n"),
        };
        let request = format!(
            "GET /api/v0/ws?token={} HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\
             {extensions}\r\n",
            token_for(user_id)
        );
        stream.write_all(request.as_bytes()).await?;
        let mut answer = BytesMut::with_capacity(1024);
        let head_bytes = loop {
            if let Some(end) = answer.windows(4).position(|window| window == b"\r\n\r\n") {
                break end + 4;
            }
            ensure!(
                answer.len() < MAX_HANDSHAKE_BYTES,
                "the upgrade's answer has no end"
            );
            ensure!(
                stream.read_buf(&mut answer).await? > 0,
                "the server closed the connection during the upgrade"
            );
        };
        let head = answer.split_to(head_bytes);
        let compression = agreed(&String::from_utf8_lossy(&head), &key, offer)?;
        let mut messages = MessageReader::client(MAX_MESSAGE_BYTES, compression);
        if !answer.is_empty() {
            messages.buffer().extend_from_slice(&answer);
        }
        Ok(RawSocket {
            stream,
            compression,
            messages,
            connection_tag: rand::random(),
            requests: 0,
        })
    }

    /// Whether the server agreed on permessage-deflate.
    pub fn compression(&self) -> bool {
        self.compression
    }

    /// Sends a request and answers the response frame carrying its `event.id`.
    async fn send_request(&mut self, endpoint: &str, data: Value) -> anyhow::Result<Value> {
        self.requests += 1;
        let id = format!("raw-{:016x}-{}", self.connection_tag, self.requests);
        let text = json!({"endpoint": endpoint, "data": data, "event": {"id": id, "date": 0}});
        // FIN and text; a client's frames are masked.
        let frame = masked_frame(0x81, text.to_string().as_bytes(), rand::random());
        self.stream.write_all(&frame).await?;
        loop {
            match self.next_message().await? {
                Incoming::Text(text) => {
                    let frame: Value = serde_json::from_slice(&text)?;
                    if frame["event"]["id"] == id {
                        return Ok(frame);
                    }
                }
                Incoming::Close(close) => bail!("the server closed the connection: {close:?}"),
                _ => {}
            }
        }
    }

    /// The next whole message, inflated.
    async fn next_message(&mut self) -> anyhow::Result<Incoming> {
        loop {
            if let Some(incoming) = self.messages.next_incoming()? {
                return Ok(incoming);
            }
            let buffer = self.messages.buffer();
            buffer.reserve(16 * 1024);
            ensure!(
                self.stream.read_buf(buffer).await? > 0,
                "the server closed the connection"
            );
        }
    }

    /// Reads the socket until the server closes it or `on_text` answers `false`: hands
    /// `on_text` the first [`MESSAGE_START_BYTES`] of each text message and when its
    /// frame's last byte arrived, and adds every byte read to `wire_bytes`.
    ///
    /// Only the start of a message is kept, and a compressed one is inflated only as far
    /// as that start: with a thousand sockets in this process on the cores the server
    /// uses too, inflating (or even copying) every ≈ 220 KB push would measure the load
    /// tool instead of the server. Inflating into a buffer of [`MESSAGE_START_BYTES`]
    /// stops when it is full, so a push costs the same small work however large it is;
    /// the rest of its bytes are read from the socket and dropped. The service sends every
    /// message as one frame: a continuation frame is skipped whole.
    pub async fn skim(
        mut self,
        wire_bytes: &AtomicU64,
        mut on_text: impl FnMut(&[u8], Instant) -> bool,
    ) -> anyhow::Result<()> {
        let arrived = self.messages.buffer().split();
        let mut buffer = vec![0_u8; SKIM_BUFFER_BYTES.max(arrived.len())];
        buffer[..arrived.len()].copy_from_slice(&arrived);
        wire_bytes.fetch_add(arrived.len() as u64, Ordering::Relaxed);
        // What of `buffer` is read and not handled yet.
        let (mut start, mut end) = (0, arrived.len());
        let mut message_start = Vec::with_capacity(MESSAGE_START_BYTES);
        // One inflater for all of this socket's messages: each is inflated on its own
        // (no context takeover), after a reset.
        let mut inflater = Decompress::new(false);
        let mut inflated = vec![0_u8; MESSAGE_START_BYTES];
        loop {
            let (header, header_bytes) = loop {
                if let Some(header) =
                    read_header(&buffer[start..end], self.compression, Role::Client)?
                {
                    break header;
                }
                buffer.copy_within(start..end, 0);
                (start, end) = (0, end - start);
                let read = self.stream.read(&mut buffer[end..]).await?;
                if read == 0 {
                    return Ok(());
                }
                wire_bytes.fetch_add(read as u64, Ordering::Relaxed);
                end += read;
            };
            start += header_bytes;
            message_start.clear();
            let mut unread = header.length;
            while unread > 0 {
                if start == end {
                    let read = self.stream.read(&mut buffer).await?;
                    if read == 0 {
                        return Ok(());
                    }
                    wire_bytes.fetch_add(read as u64, Ordering::Relaxed);
                    (start, end) = (0, read);
                }
                let here = (end - start).min(usize::try_from(unread).unwrap_or(usize::MAX));
                let kept = here.min(MESSAGE_START_BYTES - message_start.len());
                message_start.extend_from_slice(&buffer[start..start + kept]);
                start += here;
                unread -= here as u64;
            }
            let at = Instant::now();
            let text = match header.opcode {
                OpCode::Text if header.compressed => {
                    inflater.reset(false);
                    // Stops where `inflated` is full, or where the kept start runs out.
                    let _ =
                        inflater.decompress(&message_start, &mut inflated, FlushDecompress::None);
                    &inflated[..inflater.total_out() as usize]
                }
                OpCode::Text => &message_start[..],
                OpCode::Close => return Ok(()),
                _ => continue,
            };
            if !on_text(text, at) {
                return Ok(());
            }
        }
    }
}

impl Requester for RawSocket {
    fn request(
        &mut self,
        endpoint: &str,
        data: Value,
    ) -> impl Future<Output = anyhow::Result<Value>> + Send {
        self.send_request(endpoint, data)
    }
}

/// Whether the upgrade's answer `head` (status line and headers) agreed on compression;
/// an error unless it is a `101` accepting `key` whose extensions answer `offer`.
fn agreed(head: &str, key: &str, offer: Offer) -> anyhow::Result<bool> {
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 101 ") {
        bail!(UpgradeRefused {
            status_line: status.to_owned()
        });
    }
    let mut accepted = false;
    let mut extensions = None;
    for (name, value) in lines.filter_map(|line| line.split_once(':')) {
        let value = value.trim();
        if name.eq_ignore_ascii_case("sec-websocket-accept") {
            accepted = value == derive_accept_key(key.as_bytes());
        } else if name.eq_ignore_ascii_case("sec-websocket-extensions") {
            extensions = Some(value);
        }
    }
    ensure!(accepted, "the upgrade's answer did not accept the key");
    let Some(extensions) = extensions else {
        return Ok(false);
    };
    // Each message is inflated on its own: the server must not keep its context.
    let parameters: Vec<&str> = extensions.split(';').map(str::trim).collect();
    let honours_offer = offer == Offer::Deflate
        && parameters.first() == Some(&"permessage-deflate")
        && parameters.contains(&"server_no_context_takeover")
        && parameters[1..].iter().all(|parameter| {
            matches!(
                *parameter,
                "server_no_context_takeover" | "client_no_context_takeover"
            )
        });
    ensure!(
        honours_offer,
        "the server answered Sec-WebSocket-Extensions: {extensions} to the offer {offer:?}"
    );
    Ok(true)
}

/// A connection for each of `users`, 64 upgrading at a time (in the order of `users`).
pub async fn connect_all_raw(server: &Server, users: &[String], offer: Offer) -> Vec<RawSocket> {
    futures_util::stream::iter(users)
        .map(|user| async move {
            RawSocket::connect(server.address, None, user, offer)
                .await
                .unwrap()
        })
        .buffered(64)
        .collect()
        .await
}
