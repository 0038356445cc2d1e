//! The `memberships` collection: who belongs to which network or community, and as what.
//! Owned by the wider platform; this service reads it (and `import` writes it for QA).

use bson::doc;
use mongodb::IndexModel;
use serde::{Deserialize, Serialize};

use super::{Store, decode_lenient};

pub const COLLECTION: &str = "memberships";

/// A membership's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Admin,
}

/// One membership: network-level when `community_id` is absent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipDocument {
    pub user_id: String,
    pub network_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_id: Option<String>,
    pub role: Role,
}

pub(super) fn indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "userId": 1, "networkId": 1, "communityId": 1 })
            .build(),
    ]
}

impl Store {
    fn memberships(&self) -> mongodb::Collection<MembershipDocument> {
        self.database().collection(COLLECTION)
    }

    /// Read untyped: documents come from the wider platform (see [`decode_lenient`]).
    fn raw_memberships(&self) -> mongodb::Collection<bson::Document> {
        self.database().collection(COLLECTION)
    }

    /// Every membership of `user_id` in network `network_id` (network and community level).
    pub async fn memberships_in_network(
        &self,
        user_id: &str,
        network_id: &str,
    ) -> mongodb::error::Result<Vec<MembershipDocument>> {
        let cursor = self
            .raw_memberships()
            .find(doc! { "userId": user_id, "networkId": network_id })
            .await?;
        decode_lenient(COLLECTION, cursor).await
    }

    /// Every membership of `user_id` in any of `network_ids`.
    pub async fn memberships_in_networks(
        &self,
        user_id: &str,
        network_ids: &[&str],
    ) -> mongodb::error::Result<Vec<MembershipDocument>> {
        if network_ids.is_empty() {
            return Ok(Vec::new());
        }
        let cursor = self
            .raw_memberships()
            .find(doc! { "userId": user_id, "networkId": { "$in": network_ids } })
            .await?;
        decode_lenient(COLLECTION, cursor).await
    }

    /// Inserts or changes the role of one membership.
    pub async fn upsert_membership(
        &self,
        membership: &MembershipDocument,
    ) -> mongodb::error::Result<()> {
        let community = match &membership.community_id {
            Some(community_id) => bson::Bson::String(community_id.clone()),
            None => bson::Bson::Document(doc! { "$exists": false }),
        };
        let role = bson::to_bson(&membership.role).map_err(mongodb::error::Error::custom)?;
        self.memberships()
            .update_one(
                doc! {
                    "userId": &membership.user_id,
                    "networkId": &membership.network_id,
                    "communityId": community,
                },
                doc! { "$set": { "role": role } },
            )
            .upsert(true)
            .await
            .map(drop)
    }
}
