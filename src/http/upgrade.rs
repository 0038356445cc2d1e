//! The WebSocket upgrade, done here rather than by poem's extractor so that the
//! connection loop owns the raw connection with the service's own codec
//! ([`super::socket`]): it agrees on permessage-deflate with clients that offer it
//! (`crate::websocket::negotiate`), sees a message larger than the limit as soon as its
//! header arrives, and can read and discard the rest of it, so that its 413 and close
//! frame reach the client instead of being lost to a reset connection.

use poem::http::{Method, StatusCode, header};
use poem::{FromRequest, IntoResponse, OnUpgrade, Request, RequestBody, Response};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::socket::Socket;
use crate::websocket::negotiate;

/// A valid upgrade request, not yet answered. As an extractor, a request that is no
/// WebSocket upgrade answers 400.
pub struct UpgradeRequest {
    accept_key: String,
    on_upgrade: OnUpgrade,
    /// Whether the client offered permessage-deflate in a form the service honours.
    compression: bool,
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
        let offers = request
            .headers()
            .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
            .iter()
            .filter_map(|value| value.to_str().ok());
        Ok(UpgradeRequest {
            accept_key: derive_accept_key(key.as_bytes()),
            on_upgrade,
            compression: negotiate::agrees(offers),
        })
    }
}

impl UpgradeRequest {
    /// Answers 101 and, once the connection is upgraded, runs `serve` on it; its
    /// messages may be at most `limit` bytes (on the wire and inflated).
    pub fn accept<F, Fut>(self, limit: usize, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let UpgradeRequest {
            accept_key,
            on_upgrade,
            compression,
        } = self;
        tokio::spawn(async move {
            match on_upgrade.await {
                // A task of its own: awaited here, it would keep this task's captures (the
                // closure `serve`) beside its own copy for as long as the connection lasts
                // (rust-lang/rust#59087), ≈ 200 bytes more in every open connection.
                Ok(upgraded) => {
                    tokio::spawn(serve(Socket::new(upgraded, limit, compression)));
                }
                Err(error) => tracing::debug!(%error, "the upgrade did not complete"),
            }
        });
        let mut response = Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_ACCEPT, accept_key);
        if compression {
            response = response.header(header::SEC_WEBSOCKET_EXTENSIONS, negotiate::AGREED);
        }
        response.finish().into_response()
    }
}
