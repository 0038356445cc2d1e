//! The `contactLookups` collection: which contacts (e-mail addresses, phone numbers,
//! Facebook identities) each inviter looked up, kept 24 hours, for the look-up quota.

use std::time::Duration;

use bson::doc;
use mongodb::IndexModel;
use mongodb::options::IndexOptions;
use serde::{Deserialize, Serialize};

use super::{Store, StoreResult};
use crate::domain::time::Timestamp;

pub const COLLECTION: &str = "contactLookups";
/// How long a look-up counts.
pub const WINDOW: Duration = Duration::from_secs(24 * 3600);

/// One contact key looked up by one inviter, when first looked up.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LookupDocument {
    inviter_id: String,
    key: String,
    at: bson::DateTime,
}

pub(super) fn indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "inviterId": 1, "key": 1 })
            .options(IndexOptions::builder().unique(true).build())
            .build(),
        IndexModel::builder()
            .keys(doc! { "at": 1 })
            .options(IndexOptions::builder().expire_after(WINDOW).build())
            .build(),
    ]
}

impl Store {
    fn lookups(&self) -> mongodb::Collection<LookupDocument> {
        self.database().collection(COLLECTION)
    }

    /// Records that `inviter_id` looks up `keys` at `now` (a key already looked up since
    /// `since` keeps its time); answers the keys that were new, so that a refused request
    /// can take them back.
    pub async fn record_contact_lookups(
        &self,
        inviter_id: &str,
        keys: &[String],
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Vec<String>> {
        // Look-ups older than the window (and not yet expired) count as new ones.
        self.write(self.lookups().delete_many(doc! {
            "inviterId": inviter_id, "key": { "$in": keys },
            "at": { "$lte": bson::DateTime::from(since) },
        }))
        .await?;
        let now = bson::DateTime::from(now);
        let mut new = Vec::new();
        for key in keys {
            let written = self
                .write(
                    self.lookups()
                        .update_one(
                            doc! { "inviterId": inviter_id, "key": key },
                            doc! { "$setOnInsert": { "at": now } },
                        )
                        .upsert(true),
                )
                .await?;
            if written.upserted_id.is_some() {
                new.push(key.clone());
            }
        }
        Ok(new)
    }

    /// How many distinct contacts `inviter_id` looked up since `since`.
    pub async fn count_contact_lookups(
        &self,
        inviter_id: &str,
        since: Timestamp,
    ) -> StoreResult<u64> {
        let count = self
            .read(self.lookups().count_documents(
                doc! { "inviterId": inviter_id, "at": { "$gt": bson::DateTime::from(since) } },
            ))
            .await?;
        Ok(count)
    }

    /// Takes back look-ups recorded for a request that was refused.
    pub async fn forget_contact_lookups(
        &self,
        inviter_id: &str,
        keys: &[String],
    ) -> StoreResult<()> {
        if !keys.is_empty() {
            self.write(
                self.lookups()
                    .delete_many(doc! { "inviterId": inviter_id, "key": { "$in": keys } }),
            )
            .await?;
        }
        Ok(())
    }
}
