//! What the HTTP routes and connections share: the state of every request, the settings,
//! the connections and their admission, the AsyncAPI document and the rendered feeds.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::admission::Admission;
use super::calendar_feed::RenderedFeeds;
use super::settings::Settings;
use crate::app::state::AppState;

/// What the HTTP routes and connections share.
pub struct ServerState {
    /// What every request sees.
    pub app: Arc<AppState>,
    pub settings: Settings,
    /// Cancelled when the server shuts down; connections close with 1001.
    pub shutdown: CancellationToken,
    /// Every open connection, so that shutdown can wait for them.
    pub connections: TaskTracker,
    /// Per-user connection counts and shared frame rates.
    pub admission: Arc<Admission>,
    /// The AsyncAPI document, generated at start-up.
    pub asyncapi: serde_json::Value,
    /// Calendar feeds rendered last, for repeated GETs.
    pub feeds: RenderedFeeds,
}
