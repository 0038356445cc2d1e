//! HTTP with poem: the server and its routes, the WebSocket connection loop, token
//! authentication shared by the upgrade and the invitation file, per-user admission and
//! rate limiting, the
//! platform's internal routes and the ICS invitation file. The one place that maps an
//! [`ApiError`] to an HTTP answer.

pub mod admission;
pub mod auth;
pub mod connection;
pub mod internal;
pub mod invitation_file;
pub mod rate;
pub mod server;
pub mod upgrade;

use crate::error::ApiError;

impl poem::IntoResponse for ApiError {
    /// The answer of the HTTP routes: the same code as a status, the same message.
    fn into_response(self) -> poem::Response {
        let status = poem::http::StatusCode::from_u16(self.code())
            .unwrap_or(poem::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, self.wire_message()).into_response()
    }
}
