//! The `contactLookups` collection: which contacts (e-mail addresses, phone numbers,
//! Facebook identities) each inviter looked up, kept 24 hours, for the look-up quota.

use std::time::Duration;

use bson::doc;
use futures_util::TryStreamExt;
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

    /// The contact keys `inviter_id` looked up since `since`.
    pub async fn contact_lookups_since(
        &self,
        inviter_id: &str,
        since: Timestamp,
    ) -> StoreResult<Vec<String>> {
        let found: Vec<LookupDocument> = self
            .lookups()
            .find(doc! { "inviterId": inviter_id, "at": { "$gt": bson::DateTime::from(since) } })
            .await?
            .try_collect()
            .await?;
        Ok(found.into_iter().map(|lookup| lookup.key).collect())
    }

    /// Records that `inviter_id` looked up `keys` at `now` (a key looked up again keeps
    /// the time of its first look-up).
    pub async fn record_contact_lookups(
        &self,
        inviter_id: &str,
        keys: &[String],
        now: Timestamp,
    ) -> StoreResult<()> {
        let now = bson::DateTime::from(now);
        for key in keys {
            self.lookups()
                .update_one(
                    doc! { "inviterId": inviter_id, "key": key },
                    doc! { "$setOnInsert": { "at": now } },
                )
                .upsert(true)
                .await?;
        }
        Ok(())
    }
}
