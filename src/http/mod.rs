//! HTTP with poem: the server (`server`, the composition root that builds the state and
//! the route tree and runs them), what it is configured with (`settings`) and what its
//! routes share (`state`), the WebSocket upgrade, socket and connection loop, token
//! authentication shared by the upgrade and the invitation file, per-user admission and
//! rate limiting, and the other HTTP routes (`routes`, described by poem-openapi with the
//! tags and failures of `openapi`: health, metrics, the ICS invitation file, the calendar
//! feed, the platform's internal routes; `console`: the browser console), counted and
//! timed by route template (`route_metrics`). An [`ApiError`]
//! becomes an HTTP answer with its code as the status and its message as the text, here
//! for extractors and in `openapi` for the described operations.

pub mod admission;
pub mod auth;
pub mod calendar_feed;
pub mod connection;
pub mod console;
pub mod guarded;
pub mod internal;
pub mod invitation_file;
pub mod openapi;
pub mod rate;
pub mod route_metrics;
pub mod routes;
pub mod server;
pub mod settings;
pub mod socket;
pub mod state;
pub mod upgrade;

use crate::error::ApiError;

impl poem::IntoResponse for ApiError {
    /// The answer of the HTTP routes: the same code as a status, the same message; a
    /// 503 asks to retry after a second.
    fn into_response(self) -> poem::Response {
        let failure = self.report();
        let status = poem::http::StatusCode::from_u16(failure.code)
            .unwrap_or(poem::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, failure.message).into_response();
        if status == poem::http::StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                poem::http::header::RETRY_AFTER,
                poem::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}
