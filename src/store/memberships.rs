//! The `memberships` collection: who belongs to which network or community, and as what.
//! Owned by the wider platform; this service reads it (and `import` writes it for QA).
//! Each user's memberships are kept in memory while the caches run (see `cache`): a
//! membership added is forgotten for its user, any other change to the collection forgets
//! every user's (a change stream names only the changed document's `_id`, and role changes
//! and removals are rare), so a permission change is seen by every process within the
//! change stream's delay.

use std::collections::HashMap;

use bson::doc;
use mongodb::IndexModel;

use super::cache::UserMemberships;
use super::{Store, StoreError, StoreResult, cached_read_options};
use crate::domain::source::{Access, Membership, Source};

pub const COLLECTION: &str = "memberships";

pub(super) fn indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "userId": 1, "networkId": 1, "communityId": 1 })
            .build(),
    ]
}

impl Store {
    fn memberships(&self) -> mongodb::Collection<Membership> {
        self.database().collection(COLLECTION)
    }

    /// What `user_id` may do in `source`: their memberships in its network.
    pub async fn access(&self, user_id: &str, source: &Source) -> StoreResult<Access> {
        let memberships = self
            .memberships_in_networks(user_id, &[source.network_id()])
            .await?;
        Ok(Access::from_memberships(memberships))
    }

    /// Every membership of `user_id` in any of `network_ids`.
    pub async fn memberships_in_networks(
        &self,
        user_id: &str,
        network_ids: &[&str],
    ) -> StoreResult<Vec<Membership>> {
        if network_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut memberships = self.memberships_of(user_id).await?;
        memberships.retain(|membership| network_ids.contains(&membership.network_id.as_str()));
        Ok(memberships)
    }

    /// Whose the membership with this `_id` is; `None` when it is gone (or has no user).
    pub async fn membership_owner(&self, id: bson::Bson) -> StoreResult<Option<String>> {
        let found = self
            .read(
                self.database()
                    .collection::<bson::Document>(COLLECTION)
                    .find_one(bson::doc! { "_id": id })
                    .projection(bson::doc! { "userId": 1 }),
            )
            .await?;
        Ok(found.and_then(|membership| membership.get_str("userId").ok().map(str::to_owned)))
    }

    /// Every membership of `user_id`, in every network; from the cache when it holds them.
    pub async fn memberships_of(&self, user_id: &str) -> StoreResult<Vec<Membership>> {
        let mut by_user = self.memberships_of_users(&[user_id]).await?;
        Ok(by_user.remove(user_id).unwrap_or_default())
    }

    /// Every membership of each of `user_ids`, by user (each of them present): from the
    /// cache where it holds them, the others in one query.
    pub async fn memberships_of_users(
        &self,
        user_ids: &[&str],
    ) -> StoreResult<HashMap<String, Vec<Membership>>> {
        let lookup = self.membership_cache.lookup(user_ids);
        let mut by_user: HashMap<String, Vec<Membership>> = lookup
            .found
            .iter()
            .map(|kept| (kept.user_id.clone(), kept.memberships.to_vec()))
            .collect();
        if lookup.missing.is_empty() {
            return Ok(by_user);
        }
        // Read untyped: documents come from the wider platform (see `Store::read_lenient`).
        let collection = self
            .database()
            .collection_with_options::<bson::Document>(COLLECTION, cached_read_options());
        let query = collection.find(doc! { "userId": { "$in": &lookup.missing } });
        let read: Vec<Membership> = self.read_lenient(COLLECTION, query).await?;
        let mut read_by_user: HashMap<String, Vec<Membership>> = lookup
            .missing
            .iter()
            .map(|user_id| ((*user_id).to_owned(), Vec::new()))
            .collect();
        for membership in read {
            if let Some(memberships) = read_by_user.get_mut(&membership.user_id) {
                memberships.push(membership);
            }
        }
        let kept: Vec<UserMemberships> = read_by_user
            .iter()
            .map(|(user_id, memberships)| UserMemberships {
                user_id: user_id.clone(),
                memberships: memberships.as_slice().into(),
            })
            .collect();
        self.membership_cache
            .keep(&lookup, &kept, |kept| &kept.user_id);
        by_user.extend(read_by_user);
        Ok(by_user)
    }

    /// Inserts or changes the role of one membership.
    pub async fn upsert_membership(&self, membership: &Membership) -> StoreResult<()> {
        let community = match &membership.community_id {
            Some(community_id) => bson::Bson::String(community_id.clone()),
            None => bson::Bson::Document(doc! { "$exists": false }),
        };
        let role = bson::to_bson(&membership.role).map_err(StoreError::unwritable)?;
        self.write(
            self.memberships()
                .update_one(
                    doc! {
                        "userId": &membership.user_id,
                        "networkId": &membership.network_id,
                        "communityId": community,
                    },
                    doc! { "$set": { "role": role } },
                )
                .upsert(true),
        )
        .await?;
        self.membership_cache.forget(&membership.user_id);
        Ok(())
    }
}
