//! The `contactLookups` collection: which contacts (e-mail addresses, phone numbers,
//! Facebook identities) each inviter looked up, and which users each inviter invited,
//! kept 24 hours, for the look-up quota and the new-invitee budget.

mod document;

use bson::doc;

use super::{Store, StoreResult};
use crate::domain::time::Timestamp;

use self::document::LookupDocument;
pub(super) use self::document::indexes;
pub use self::document::{COLLECTION, LookupKind, WINDOW};

impl Store {
    fn lookups(&self) -> mongodb::Collection<LookupDocument> {
        self.database().collection(COLLECTION)
    }

    /// Records that `inviter_id` looks up (or invites) `keys` at `now` (a key recorded
    /// since `since` keeps its time), in two writes; answers the keys that were new, so
    /// that a refused request can take them back.
    pub async fn record_lookups(
        &self,
        inviter_id: &str,
        kind: LookupKind,
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
        let records = keys.iter().map(|key| LookupDocument {
            inviter_id: inviter_id.to_owned(),
            key: key.clone(),
            at: bson::DateTime::from(now),
            kind: kind.stored().map(str::to_owned),
        });
        // Keys recorded already are refused as duplicates; the others are written.
        match self
            .insert_or_duplicate(self.lookups().insert_many(records).ordered(false))
            .await
        {
            Ok(_) => Ok(keys.to_vec()),
            Err(error) => {
                let known = error.duplicate_positions().ok_or(error)?;
                Ok(keys
                    .iter()
                    .enumerate()
                    .filter(|(position, _)| !known.contains(position))
                    .map(|(_, key)| key.clone())
                    .collect())
            }
        }
    }

    /// How many distinct keys of `kind` `inviter_id` recorded since `since`.
    pub async fn count_lookups(
        &self,
        inviter_id: &str,
        kind: LookupKind,
        since: Timestamp,
    ) -> StoreResult<u64> {
        let count = self
            .read(self.lookups().count_documents(doc! {
                "inviterId": inviter_id,
                "kind": kind.filter(),
                "at": { "$gt": bson::DateTime::from(since) },
            }))
            .await?;
        Ok(count)
    }

    /// Takes back look-ups recorded for a request that was refused.
    pub async fn forget_lookups(&self, inviter_id: &str, keys: &[String]) -> StoreResult<()> {
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
