//! A WebSocket client that speaks the envelope, asserting as it goes.

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// The envelope client of the service's replay tool, with asserting shortcuts: a test
/// that gets no answer in time has failed.
pub struct Client(social_events::tools::replay::client::Client);

impl Client {
    /// Connects to a WebSocket URL with a Bearer token.
    pub async fn connect(url: &str, token: &str) -> Client {
        Client(
            social_events::tools::replay::client::Client::connect(url, token)
                .await
                .expect("the upgrade succeeds"),
        )
    }

    /// Connects, or answers why the upgrade failed (a refusal's status among it).
    pub async fn try_connect(url: &str, token: &str) -> Result<Client, String> {
        social_events::tools::replay::client::Client::connect(url, token)
            .await
            .map(Client)
            .map_err(|error| error.to_string())
    }

    /// Sends a request and answers its response frame; pushes in between are kept.
    pub async fn request(&mut self, endpoint: &str, data: Value) -> Value {
        self.0.request(endpoint, data).await.unwrap()
    }

    /// Sends a request that must succeed and answers its `data` (`Null` when absent).
    pub async fn ok(&mut self, endpoint: &str, data: Value) -> Value {
        let frame = self.request(endpoint, data).await;
        assert_eq!(
            frame["error"],
            json!({"status": false, "code": 0, "message": ""}),
            "{endpoint} failed: {frame}"
        );
        frame.get("data").cloned().unwrap_or(Value::Null)
    }

    /// Sends a request that must fail with `code` and answers the error message.
    pub async fn fails(&mut self, endpoint: &str, data: Value, code: u64) -> String {
        let frame = self.request(endpoint, data).await;
        assert_eq!(
            frame["error"]["status"], true,
            "{endpoint} should fail: {frame}"
        );
        assert_eq!(frame["error"]["code"], code, "{endpoint}: {frame}");
        assert!(
            frame.get("data").is_none(),
            "a failure carries no data: {frame}"
        );
        frame["error"]["message"].as_str().unwrap().to_owned()
    }

    pub async fn send_text(&mut self, text: String) {
        self.0.send_text(text).await.unwrap();
    }

    pub async fn send(&mut self, message: Message) {
        self.0.send(message).await.unwrap();
    }

    /// The next message of any kind, or `None` when the connection ended.
    pub async fn next_message(&mut self) -> Option<Message> {
        self.0.next_message().await.unwrap()
    }

    /// The next text frame, parsed (a kept one first).
    pub async fn next_frame(&mut self) -> Value {
        self.0.next_frame().await.unwrap()
    }

    /// The next push of `endpoint`, checking the push frame's shape.
    pub async fn next_push(&mut self, endpoint: &str) -> Value {
        let frame = self.next_frame().await;
        assert_eq!(
            frame["endpoint"], endpoint,
            "expected a {endpoint} push: {frame}"
        );
        assert_eq!(
            frame["error"],
            json!({"status": false, "code": 0, "message": ""})
        );
        assert!(
            frame["event"]["id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{frame}"
        );
        assert!(frame["event"]["date"].is_i64(), "{frame}");
        frame["data"].clone()
    }

    /// Every frame that arrived before a change of this client's own was pushed back:
    /// empty when no session push was sent to it (see the replay client for prop pushes).
    pub async fn frames_before_sentinel(&mut self) -> Vec<Value> {
        self.0.frames_before_sentinel().await.unwrap()
    }

    /// Waits for the close frame and answers its code (`None` when the connection ended
    /// without one).
    pub async fn close_code(&mut self) -> Option<u16> {
        self.0.close_code().await.unwrap()
    }
}
