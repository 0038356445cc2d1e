//! The `memberships` collection: who belongs to which network or community, and as what.
//! Owned by the wider platform; this service reads it (and `import` writes it for QA).

use bson::doc;
use mongodb::IndexModel;

use super::{Store, StoreError, StoreResult};
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

    /// Read untyped: documents come from the wider platform (see [`Store::read_lenient`]).
    fn raw_memberships(&self) -> mongodb::Collection<bson::Document> {
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
        self.read_lenient(
            COLLECTION,
            self.raw_memberships()
                .find(doc! { "userId": user_id, "networkId": { "$in": network_ids } }),
        )
        .await
    }

    /// Every membership of `user_id`, in every network.
    pub async fn memberships_of(&self, user_id: &str) -> StoreResult<Vec<Membership>> {
        self.read_lenient(
            COLLECTION,
            self.raw_memberships().find(doc! { "userId": user_id }),
        )
        .await
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
        Ok(())
    }
}
