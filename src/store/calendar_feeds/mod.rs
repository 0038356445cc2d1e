//! The `calendarFeeds` collection (per user: the salt of the feed token and the token's
//! SHA-256, never the token) and `calendarFeedEntries` (per user and session: what the feed
//! last listed, and since when a session that left it is shown cancelled). Cancelled
//! entries expire with a TTL index once they are no longer shown.

mod document;

use bson::doc;

use super::{Store, StoreResult};
use crate::domain::feed::FeedEntry;
use crate::domain::ids::SessionId;

pub use self::document::{ENTRIES, FEEDS};
use self::document::{EntryDocument, FeedDocument};
pub(super) use self::document::{entry_indexes, feed_indexes};

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
                    doc! { "$setOnInsert": {
                        "salt": salt,
                        "tokenHash": token_hash,
                        "created": bson::DateTime::now(),
                    } },
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
                    doc! {
                        "$set": { "salt": salt, "tokenHash": token_hash },
                        "$setOnInsert": { "created": bson::DateTime::now() },
                    },
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
        known: &std::collections::HashSet<SessionId>,
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
                .insert_or_duplicate(self.feed_entries().insert_many(documents).ordered(false))
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
