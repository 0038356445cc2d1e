//! The WebSocket upgrade, done here rather than by poem's extractor so that the
//! connection loop owns the WebSocket library's stream over the raw connection: it sees
//! the library's errors as types (an oversized frame is a `Capacity` error), and after
//! refusing an oversized frame it can read and discard the rest of it, so that its 413
//! and close frame reach the client instead of being lost to a reset connection.

use poem::http::{Method, StatusCode, header};
use poem::{FromRequest, IntoResponse, OnUpgrade, Request, RequestBody, Response, Upgraded};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// A WebSocket connection over the raw upgraded HTTP connection.
pub type Socket = WebSocketStream<Upgraded>;

/// A valid upgrade request, not yet answered. As an extractor, a request that is no
/// WebSocket upgrade answers 400.
pub struct UpgradeRequest {
    accept_key: String,
    on_upgrade: OnUpgrade,
}

/// Whether `name`'s comma-separated values include `token`, in any letter case.
fn header_has_token(request: &Request, name: header::HeaderName, token: &str) -> bool {
    request.headers().get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

impl<'a> FromRequest<'a> for UpgradeRequest {
    async fn from_request(request: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let refuse = || poem::Error::from_string("invalid protocol", StatusCode::BAD_REQUEST);
        let version_13 = request
            .headers()
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|version| version == "13");
        if request.method() != Method::GET
            || !header_has_token(request, header::UPGRADE, "websocket")
            || !header_has_token(request, header::CONNECTION, "upgrade")
            || !version_13
        {
            return Err(refuse());
        }
        let key = request
            .headers()
            .get(header::SEC_WEBSOCKET_KEY)
            .ok_or_else(refuse)?;
        let on_upgrade = request.take_upgrade().map_err(|_| refuse())?;
        Ok(UpgradeRequest {
            accept_key: derive_accept_key(key.as_bytes()),
            on_upgrade,
        })
    }
}

impl UpgradeRequest {
    /// Answers 101 and, once the connection is upgraded, runs `serve` on it.
    pub fn accept<F, Fut>(self, config: WebSocketConfig, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let UpgradeRequest {
            accept_key,
            on_upgrade,
        } = self;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let socket =
                        WebSocketStream::from_raw_socket(upgraded, Role::Server, Some(config))
                            .await;
                    serve(socket).await;
                }
                Err(error) => tracing::debug!(%error, "the upgrade did not complete"),
            }
        });
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_ACCEPT, accept_key)
            .finish()
            .into_response()
    }
}
