//! The state shared by every request and every route: the store, the pushes, the keys of
//! cursors and calendar feeds, and the looks of the prop board.

use std::sync::Arc;

use super::prop_board::looks::SharedLooks;
use super::reminders::Reminders;
use crate::domain::feed::FeedKey;
use crate::domain::page::CursorKey;
use crate::push::Pushes;
use crate::store::Store;

/// State shared by every request.
pub struct AppState {
    pub store: Store,
    pub pushes: Arc<Pushes>,
    /// Signs the cursors of paged lists.
    pub cursor_key: CursorKey,
    /// Makes calendar feed URLs; `None`: calendar feeds are off.
    pub calendar_feed_key: Option<FeedKey>,
    /// Base URL of the service as clients reach it, without a trailing slash.
    pub public_url: String,
    /// The looks the prop watches of one user share (`prop_board::looks`).
    pub looks: SharedLooks,
    /// Reminders before sessions start.
    pub reminders: Arc<Reminders>,
}
