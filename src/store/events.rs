//! The `events` collection.

use bson::{RawDocumentBuf, doc};
use futures_util::TryStreamExt;
use mongodb::IndexModel;
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::Store;

pub const COLLECTION: &str = "events";

/// An event as stored: the reference's fields plus the creator and a revision counter
/// that guards read-modify-write updates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDocument {
    #[serde(rename = "_id")]
    pub id: String,
    pub created: bson::DateTime,
    pub updated: bson::DateTime,
    pub source_string: String,
    pub source_type: String,
    pub source_pk: String,
    pub network_id: String,
    pub owner_id: String,
    pub title: String,
    pub description: String,
    pub start_date: bson::DateTime,
    pub end_date: bson::DateTime,
    pub preview_resource_id: String,
    pub room_id: String,
    pub participant_limit: i64,
    pub price: f64,
    /// Native sub-document, exactly as the client sent it, kept raw (see `json_bson`).
    pub custom_data: RawDocumentBuf,
    /// Native sub-document, exactly as the client sent it, kept raw (see `json_bson`).
    pub form_schema: RawDocumentBuf,
    /// 0 draft, 1 published.
    pub status: i32,
    pub revision: i64,
}

/// Event status values.
pub mod status {
    pub const DRAFT: i32 = 0;
    pub const PUBLISHED: i32 = 1;
}

pub(super) fn indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "networkId": 1, "sourceType": 1, "sourcePk": 1, "startDate": 1, "_id": 1 })
            .build(),
    ]
}

/// Which events of a source a listing returns.
pub enum EventListing<'a> {
    /// Every event: the caller administers the source.
    All,
    /// Published events and the caller's own drafts.
    PublishedOrOwnedBy(&'a str),
}

impl Store {
    fn events(&self) -> mongodb::Collection<EventDocument> {
        self.database().collection(COLLECTION)
    }

    pub async fn insert_event(&self, event: &EventDocument) -> mongodb::error::Result<()> {
        self.events().insert_one(event).await.map(drop)
    }

    pub async fn find_event(
        &self,
        event_id: &str,
    ) -> mongodb::error::Result<Option<EventDocument>> {
        self.events().find_one(doc! { "_id": event_id }).await
    }

    /// The events with these ids (missing ones are left out).
    pub async fn find_events(&self, ids: &[&str]) -> mongodb::error::Result<Vec<EventDocument>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.events()
            .find(doc! { "_id": { "$in": ids } })
            .await?
            .try_collect()
            .await
    }

    /// Replaces the event when it is still at `expected_revision`; answers false when
    /// another change came first. The stored revision becomes `expected_revision + 1`.
    pub async fn replace_event_at_revision(
        &self,
        event: &EventDocument,
        expected_revision: i64,
    ) -> mongodb::error::Result<bool> {
        let mut next = event.clone();
        next.revision = expected_revision + 1;
        let result = self
            .events()
            .replace_one(
                doc! { "_id": &event.id, "revision": expected_revision },
                &next,
            )
            .await?;
        Ok(result.matched_count == 1)
    }

    /// Sets the status to published; answers the event after the change.
    pub async fn publish_event(
        &self,
        event_id: &str,
        now: bson::DateTime,
    ) -> mongodb::error::Result<Option<EventDocument>> {
        self.events()
            .find_one_and_update(
                doc! { "_id": event_id, "status": { "$ne": status::PUBLISHED } },
                doc! {
                    "$set": { "status": status::PUBLISHED, "updated": now },
                    "$inc": { "revision": 1 },
                },
            )
            .return_document(ReturnDocument::After)
            .await
    }

    /// Deletes the event; answers whether it existed.
    pub async fn delete_event(&self, event_id: &str) -> mongodb::error::Result<bool> {
        let result = self.events().delete_one(doc! { "_id": event_id }).await?;
        Ok(result.deleted_count == 1)
    }

    /// The events of one source, by `startDate` then `id`.
    pub async fn list_events(
        &self,
        network_id: &str,
        source_type: &str,
        source_pk: &str,
        listing: EventListing<'_>,
    ) -> mongodb::error::Result<Vec<EventDocument>> {
        let mut filter = doc! {
            "networkId": network_id,
            "sourceType": source_type,
            "sourcePk": source_pk,
        };
        if let EventListing::PublishedOrOwnedBy(user_id) = listing {
            filter.insert(
                "$or",
                vec![
                    doc! { "status": status::PUBLISHED },
                    doc! { "ownerId": user_id },
                ],
            );
        }
        self.events()
            .find(filter)
            .sort(doc! { "startDate": 1, "_id": 1 })
            .await?
            .try_collect()
            .await
    }
}
