//! A WebSocket client that speaks the envelope: used by the fixture replayer and by the
//! integration tests.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Longest wait for one frame before the client gives up.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);

/// One connection. Frames that arrive while it waits for an answer (pushes) are kept, in
/// order, for [`Client::next_frame`].
pub struct Client {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// This connection's part of every `event.id` it sends: the ids of a user's
    /// connections never repeat (a repeated id of a write is a retry).
    connection_tag: String,
    next_id: u64,
    kept: VecDeque<Value>,
    /// The session changed to prove that no push is on its way.
    sentinel: Option<Value>,
    sentinel_changes: u64,
}

impl Client {
    /// Connects to a WebSocket URL with `Authorization: Bearer <token>`.
    pub async fn connect(url: &str, token: &str) -> anyhow::Result<Client> {
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse()?);
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Client {
            stream,
            connection_tag: format!("{:016x}", rand::random::<u64>()),
            next_id: 0,
            kept: VecDeque::new(),
            sentinel: None,
            sentinel_changes: 0,
        })
    }

    /// Sends a request and answers the response frame carrying its `event.id`.
    pub async fn request(&mut self, endpoint: &str, data: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = format!("req-{}-{}", self.connection_tag, self.next_id);
        self.request_as(endpoint, data, &id).await
    }

    /// Sends a request under `id` (a retry repeats the id of its first request) and
    /// answers the response frame carrying it.
    pub async fn request_as(
        &mut self,
        endpoint: &str,
        data: Value,
        id: &str,
    ) -> anyhow::Result<Value> {
        let frame = json!({"endpoint": endpoint, "data": data, "event": {"id": id, "date": 0}});
        self.send_text(frame.to_string()).await?;
        loop {
            let frame = self.read_frame(ANSWER_TIMEOUT).await?;
            if frame["event"]["id"] == id {
                return Ok(frame);
            }
            self.kept.push_back(frame);
        }
    }

    pub async fn send_text(&mut self, text: String) -> anyhow::Result<()> {
        self.stream.send(Message::text(text)).await?;
        Ok(())
    }

    pub async fn send(&mut self, message: Message) -> anyhow::Result<()> {
        self.stream.send(message).await?;
        Ok(())
    }

    /// The next message of any kind, or `None` when the connection ended.
    pub async fn next_message(&mut self) -> anyhow::Result<Option<Message>> {
        let next = tokio::time::timeout(ANSWER_TIMEOUT, self.stream.next())
            .await
            .map_err(|_| anyhow::anyhow!("no message within {ANSWER_TIMEOUT:?}"))?;
        Ok(next.and_then(Result::ok))
    }

    /// The next text frame (a kept one first), waiting at most `wait`.
    pub async fn next_frame_within(&mut self, wait: Duration) -> anyhow::Result<Value> {
        match self.kept.pop_front() {
            Some(frame) => Ok(frame),
            None => self.read_frame(wait).await,
        }
    }

    /// The next text frame (a kept one first).
    pub async fn next_frame(&mut self) -> anyhow::Result<Value> {
        self.next_frame_within(ANSWER_TIMEOUT).await
    }

    /// Proves that nothing more is on its way: changes a session of this client's own (a
    /// Private standalone session in room `sentinel`, made at the first call and reused)
    /// and answers every frame that arrived before that change's push. Session pushes to
    /// one connection are delivered in the order of the changes; a prop board's push
    /// (`social:propSessionsUpdated`) is sent after its watch looked again, and may come
    /// after a later change's session push: prove its absence with a later board push.
    pub async fn frames_before_sentinel(&mut self) -> anyhow::Result<Vec<Value>> {
        let id = match &self.sentinel {
            Some(id) => id.clone(),
            None => {
                let start = chrono::Utc::now().timestamp_millis() + 3_600_000;
                let session = json!({
                    "roomId": "sentinel", "propId": uuid::Uuid::now_v7().to_string(),
                    "title": "sentinel", "startDate": start, "duration": 60, "sessionType": 1,
                });
                let created = self
                    .request("social:createSession", json!({"session": session}))
                    .await?;
                let id = created["data"]["session"]["id"].clone();
                anyhow::ensure!(
                    id.is_string(),
                    "cannot create the sentinel session: {created}"
                );
                self.sentinel = Some(id.clone());
                id
            }
        };
        self.sentinel_changes += 1;
        let title = format!("sentinel {}", self.sentinel_changes);
        let update = json!({"session": {"id": id, "title": title}});
        let updated = self.request("social:updateSession", update).await?;
        anyhow::ensure!(
            updated["error"]["code"] == 0,
            "cannot update the sentinel: {updated}"
        );
        let mut before = Vec::new();
        loop {
            let frame = self.next_frame().await?;
            let session = &frame["data"]["session"];
            if session["id"] == id && session["title"] == title.as_str() {
                return Ok(before);
            }
            before.push(frame);
        }
    }

    /// Waits for the close frame and answers its code (`None` when the connection ended
    /// without one).
    pub async fn close_code(&mut self) -> anyhow::Result<Option<u16>> {
        loop {
            match self.next_message().await? {
                Some(Message::Close(frame)) => return Ok(frame.map(|frame| frame.code.into())),
                None => return Ok(None),
                Some(_) => continue,
            }
        }
    }

    async fn read_frame(&mut self, wait: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .map_err(|_| anyhow::anyhow!("no frame within {wait:?}"))?;
            match next {
                Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text)?),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(other)) => anyhow::bail!("expected a text frame, got {other:?}"),
                Some(Err(error)) => return Err(error.into()),
                None => anyhow::bail!("the connection ended"),
            }
        }
    }
}
