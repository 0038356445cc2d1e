//! The `sessions` collection: sessions at room props, alone or within an event.

use bson::doc;
use mongodb::IndexModel;

use super::Store;

pub const COLLECTION: &str = "sessions";

pub(super) fn indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "eventId": 1, "startDate": 1, "_id": 1 })
            .build(),
    ]
}

impl Store {
    fn sessions(&self) -> mongodb::Collection<bson::Document> {
        self.database().collection(COLLECTION)
    }

    /// Deletes every session of an event; answers how many were deleted.
    pub async fn delete_sessions_of_event(&self, event_id: &str) -> mongodb::error::Result<u64> {
        self.sessions()
            .delete_many(doc! { "eventId": event_id })
            .await
            .map(|result| result.deleted_count)
    }
}
