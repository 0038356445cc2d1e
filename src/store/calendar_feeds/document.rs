//! A calendar feed and its entries as stored: their documents, their conversions, and
//! the collections' indexes.

use std::time::Duration;

use bson::doc;
use mongodb::IndexModel;
use mongodb::options::IndexOptions;
use serde::{Deserialize, Serialize};

use crate::domain::feed::FeedEntry;
use crate::domain::ids::SessionId;
use crate::domain::zone::TimeZone;

pub const FEEDS: &str = "calendarFeeds";

pub const ENTRIES: &str = "calendarFeedEntries";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FeedDocument {
    /// The user.
    #[serde(rename = "_id")]
    pub(super) user_id: String,
    pub(super) salt: String,
    pub(super) token_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EntryId {
    pub(super) user_id: String,
    pub(super) session_id: SessionId,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EntryDocument {
    #[serde(rename = "_id")]
    pub(super) id: EntryId,
    pub(super) user_id: String,
    pub(super) title: String,
    pub(super) start_date: bson::DateTime,
    pub(super) duration: i64,
    #[serde(default)]
    pub(super) time_zone: TimeZone,
    pub(super) sequence: i64,
    #[serde(default)]
    pub(super) organizer_id: String,
    #[serde(default)]
    pub(super) organizer_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cancelled_at: Option<bson::DateTime>,
    /// When a cancelled entry may be removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) expire_at: Option<bson::DateTime>,
}

impl EntryDocument {
    pub(super) fn of(user_id: &str, entry: &FeedEntry) -> EntryDocument {
        EntryDocument {
            id: EntryId {
                user_id: user_id.to_owned(),
                session_id: entry.session_id.clone(),
            },
            user_id: user_id.to_owned(),
            title: entry.title.clone(),
            start_date: entry.start_date.into(),
            duration: entry.duration,
            time_zone: entry.time_zone,
            sequence: entry.sequence,
            organizer_id: entry.organizer_id.clone(),
            organizer_name: entry.organizer_name.clone(),
            cancelled_at: entry.cancelled_at.map(Into::into),
            expire_at: entry.kept_until().map(Into::into),
        }
    }

    pub(super) fn into_entry(self) -> FeedEntry {
        FeedEntry {
            session_id: self.id.session_id,
            title: self.title,
            start_date: self.start_date.into(),
            duration: self.duration,
            time_zone: self.time_zone,
            sequence: self.sequence,
            organizer_id: self.organizer_id,
            organizer_name: self.organizer_name,
            cancelled_at: self.cancelled_at.map(Into::into),
        }
    }
}

pub(in crate::store) fn feed_indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "tokenHash": 1 })
            .options(IndexOptions::builder().unique(true).build())
            .build(),
    ]
}

pub(in crate::store) fn entry_indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder().keys(doc! { "userId": 1 }).build(),
        IndexModel::builder()
            .keys(doc! { "organizerId": 1 })
            .build(),
        IndexModel::builder()
            .keys(doc! { "expireAt": 1 })
            .options(IndexOptions::builder().expire_after(Duration::ZERO).build())
            .build(),
    ]
}
