//! The `calendarFeeds` collection (per user: the salt of the feed token and the token's
//! SHA-256, never the token) and `calendarFeedEntries` (per user and session: what the feed
//! last listed, and since when a session that left it is shown cancelled). Cancelled
//! entries expire with a TTL index once they are no longer shown.

use std::time::Duration;

use bson::doc;
use mongodb::IndexModel;
use mongodb::options::IndexOptions;
use serde::{Deserialize, Serialize};

use super::{Store, StoreResult};
use crate::domain::feed::FeedEntry;
use crate::domain::zone::TimeZone;

pub const FEEDS: &str = "calendarFeeds";
pub const ENTRIES: &str = "calendarFeedEntries";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedDocument {
    /// The user.
    #[serde(rename = "_id")]
    user_id: String,
    salt: String,
    token_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryId {
    user_id: String,
    session_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryDocument {
    #[serde(rename = "_id")]
    id: EntryId,
    user_id: String,
    title: String,
    start_date: bson::DateTime,
    duration: i64,
    #[serde(default)]
    time_zone: TimeZone,
    sequence: i64,
    #[serde(default)]
    organizer_id: String,
    #[serde(default)]
    organizer_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cancelled_at: Option<bson::DateTime>,
    /// When a cancelled entry may be removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expire_at: Option<bson::DateTime>,
}

impl EntryDocument {
    fn of(user_id: &str, entry: &FeedEntry) -> EntryDocument {
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

    fn into_entry(self) -> FeedEntry {
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

pub(super) fn feed_indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "tokenHash": 1 })
            .options(IndexOptions::builder().unique(true).build())
            .build(),
    ]
}

pub(super) fn entry_indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder().keys(doc! { "userId": 1 }).build(),
        IndexModel::builder()
            .keys(doc! { "expireAt": 1 })
            .options(IndexOptions::builder().expire_after(Duration::ZERO).build())
            .build(),
    ]
}

impl Store {
    fn feeds(&self) -> mongodb::Collection<FeedDocument> {
        self.database().collection(FEEDS)
    }

    fn feed_entries(&self) -> mongodb::Collection<EntryDocument> {
        self.database().collection(ENTRIES)
    }

    /// The salt and token hash of `user_id`'s feed: the stored ones, or else `salt` and
    /// `token_hash`, stored now (of two first calls at once, one salt wins for both).
    pub async fn feed_salt(
        &self,
        user_id: &str,
        salt: &str,
        token_hash: &str,
    ) -> StoreResult<(String, String)> {
        if let Some(feed) = self
            .read(self.feeds().find_one(doc! { "_id": user_id }))
            .await?
        {
            return Ok((feed.salt, feed.token_hash));
        }
        self.write(
            self.feeds()
                .update_one(
                    doc! { "_id": user_id },
                    doc! { "$setOnInsert": { "salt": salt, "tokenHash": token_hash } },
                )
                .upsert(true),
        )
        .await?;
        let stored = self
            .read(self.feeds().find_one(doc! { "_id": user_id }))
            .await?;
        Ok(stored.map_or_else(
            || (salt.to_owned(), token_hash.to_owned()),
            |feed| (feed.salt, feed.token_hash),
        ))
    }

    /// Replaces `user_id`'s feed token: the old one no longer finds the feed.
    pub async fn rotate_feed(
        &self,
        user_id: &str,
        salt: &str,
        token_hash: &str,
    ) -> StoreResult<()> {
        self.write(
            self.feeds()
                .update_one(
                    doc! { "_id": user_id },
                    doc! { "$set": { "salt": salt, "tokenHash": token_hash } },
                )
                .upsert(true),
        )
        .await?;
        Ok(())
    }

    /// The user whose feed token has `token_hash`.
    pub async fn feed_owner(&self, token_hash: &str) -> StoreResult<Option<String>> {
        let feed = self
            .read(self.feeds().find_one(doc! { "tokenHash": token_hash }))
            .await?;
        Ok(feed.map(|feed| feed.user_id))
    }

    /// What `user_id`'s feed last listed and cancelled.
    pub async fn feed_entries_of(&self, user_id: &str) -> StoreResult<Vec<FeedEntry>> {
        let documents = self
            .read_all(self.feed_entries().find(doc! { "userId": user_id }))
            .await?;
        Ok(documents
            .into_iter()
            .map(EntryDocument::into_entry)
            .collect())
    }

    /// Stores `entries` of `user_id`'s feed, each replacing the one of its session unless
    /// the stored one has a higher SEQUENCE (written by a fetch that saw newer data).
    /// Entries of sessions the feed never listed go in one write.
    pub async fn put_feed_entries(
        &self,
        user_id: &str,
        entries: &[FeedEntry],
        known: &std::collections::HashSet<String>,
    ) -> StoreResult<()> {
        let (updates, new): (Vec<&FeedEntry>, Vec<&FeedEntry>) = entries
            .iter()
            .partition(|entry| known.contains(&entry.session_id));
        if !new.is_empty() {
            let documents: Vec<EntryDocument> = new
                .iter()
                .map(|entry| EntryDocument::of(user_id, entry))
                .collect();
            // Another fetch may have stored some of them first: theirs stand.
            match self
                .write(self.feed_entries().insert_many(documents).ordered(false))
                .await
            {
                Ok(_) => {}
                Err(error) if error.is_duplicate_key() => {}
                Err(error) => return Err(error),
            }
        }
        for entry in updates {
            let document = EntryDocument::of(user_id, entry);
            let id = bson::to_bson(&document.id).map_err(super::StoreError::unwritable)?;
            self.write(self.feed_entries().replace_one(
                doc! { "_id": id, "sequence": { "$lte": entry.sequence } },
                &document,
            ))
            .await?;
        }
        Ok(())
    }
}
