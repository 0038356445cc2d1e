//! The service's runtime settings and the state shared by every connection.

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use std::sync::Arc;

use crate::auth::TokenVerifier;
use crate::pushes::Pushes;
use crate::store::Store;

/// Limits applied to each WebSocket connection.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Largest accepted frame, in bytes; larger ones are answered 413 and the connection
    /// is closed with 1009.
    pub max_frame_bytes: usize,
    /// Sustained requests per second.
    pub requests_per_second: u32,
    /// Requests accepted in a burst.
    pub burst: u32,
    /// Requests of one connection processed at the same time.
    pub max_in_flight: usize,
    /// Frames waiting to be written to one connection.
    pub outgoing_queue: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_frame_bytes: 1024 * 1024,
            requests_per_second: 100,
            burst: 200,
            max_in_flight: 16,
            outgoing_queue: 256,
        }
    }
}

/// Everything the server needs to run, resolved from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    pub mongodb_uri: String,
    pub db_name: String,
    pub tokens: TokenVerifier,
    /// Base URL of this service as clients reach it, without a trailing slash.
    pub public_url: String,
    /// Secret of the internal endpoints; `None` disables them.
    pub internal_secret: Option<String>,
    pub connection: ConnectionLimits,
}

/// State shared by every request.
pub struct AppState {
    pub store: Store,
    pub pushes: Arc<Pushes>,
    pub settings: Settings,
    /// Cancelled when the server shuts down; connections close with 1001.
    pub shutdown: CancellationToken,
    /// Every open connection, so that shutdown can wait for them.
    pub connections: TaskTracker,
}
