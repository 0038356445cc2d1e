//! An event as stored: the document, its conversions from and to `domain::event::Event`,
//! and the collection's indexes.

use bson::{RawDocumentBuf, doc};
use mongodb::IndexModel;
use mongodb::options::IndexOptions;
use serde::{Deserialize, Serialize};

use crate::domain::event::Event;
use crate::domain::ids::EventId;
use crate::domain::kinds::EventStatus;
use crate::domain::source::Source;
use crate::store::json_bson::{document_to_object, object_to_document};
use crate::store::{StoreError, StoreResult};

pub const COLLECTION: &str = "events";

/// An event as stored: the reference's fields plus the creator and a revision counter
/// that guards read-modify-write updates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventDocument {
    #[serde(rename = "_id")]
    pub(super) id: EventId,
    pub(super) created: bson::DateTime,
    pub(super) updated: bson::DateTime,
    pub(super) source_string: String,
    pub(super) source_type: String,
    pub(super) source_pk: String,
    pub(super) network_id: String,
    pub(super) owner_id: String,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) start_date: bson::DateTime,
    pub(super) end_date: bson::DateTime,
    pub(super) preview_resource_id: String,
    pub(super) room_id: String,
    pub(super) participant_limit: i64,
    pub(super) price: f64,
    /// Native sub-document, exactly as the client sent it (see `json_bson`).
    pub(super) custom_data: RawDocumentBuf,
    /// Native sub-document, exactly as the client sent it (see `json_bson`).
    pub(super) form_schema: RawDocumentBuf,
    /// 1 published; anything else reads as a draft.
    pub(super) status: i32,
    pub(super) revision: i64,
}

impl EventDocument {
    pub(super) fn from_event(event: &Event, revision: i64) -> StoreResult<EventDocument> {
        let object = |object| object_to_document(object).map_err(StoreError::unwritable);
        Ok(EventDocument {
            id: event.id.clone(),
            created: event.created.into(),
            updated: event.updated.into(),
            source_string: event.source.as_string(),
            source_type: event.source.source_type().to_owned(),
            source_pk: event.source.source_pk().to_owned(),
            network_id: event.source.network_id().to_owned(),
            owner_id: event.owner_id.clone(),
            title: event.title.clone(),
            description: event.description.clone(),
            start_date: event.start_date.into(),
            end_date: event.end_date.into(),
            preview_resource_id: event.preview_resource_id.clone(),
            room_id: event.room_id.clone(),
            participant_limit: event.participant_limit,
            price: event.price,
            custom_data: object(&event.custom_data)?,
            form_schema: object(&event.form_schema)?,
            status: event.status.code(),
            revision,
        })
    }

    /// The event, unless its stored source is not one this service knows (it is then
    /// treated as missing, and logged).
    pub(super) fn into_event(self) -> Option<Event> {
        let Some(source) =
            Source::from_stored(&self.source_type, &self.network_id, &self.source_pk)
        else {
            tracing::warn!(event = %self.id, source_type = %self.source_type, "skipping an event with an unknown source type");
            return None;
        };
        Some(Event {
            id: self.id,
            created: self.created.into(),
            updated: self.updated.into(),
            source,
            owner_id: self.owner_id,
            title: self.title,
            description: self.description,
            start_date: self.start_date.into(),
            end_date: self.end_date.into(),
            preview_resource_id: self.preview_resource_id,
            room_id: self.room_id,
            participant_limit: self.participant_limit,
            price: self.price,
            custom_data: document_to_object(&self.custom_data),
            form_schema: document_to_object(&self.form_schema),
            status: EventStatus::try_from(self.status).unwrap_or(EventStatus::Draft),
            revision: self.revision,
        })
    }
}

pub(in crate::store) fn indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "networkId": 1, "sourceType": 1, "sourcePk": 1, "startDate": 1, "_id": 1 })
            .build(),
        IndexModel::builder()
            .keys(doc! { DELETING: 1 })
            .options(IndexOptions::builder().sparse(true).build())
            .build(),
        IndexModel::builder()
            .keys(doc! { "ownerId": 1, "_id": 1 })
            .build(),
    ]
}

/// The field that marks an event whose deletion has begun: from then on it is gone for
/// every query, and its sessions with it, until the deletion is finished (see
/// [`Store::begin_event_deletion`]).
pub(super) const DELETING: &str = "deleting";
