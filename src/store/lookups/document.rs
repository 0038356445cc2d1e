//! A contact lookup as stored: its kind, its document, and the collection's indexes.

use std::time::Duration;

use bson::doc;
use mongodb::IndexModel;
use mongodb::options::IndexOptions;
use serde::{Deserialize, Serialize};

pub const COLLECTION: &str = "contactLookups";

/// How long a look-up counts.
pub const WINDOW: Duration = Duration::from_secs(24 * 3600);

/// What an inviter's records count against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKind {
    /// Contacts looked up (`email:…`, `phone:…`, `facebook:…`).
    Contact,
    /// Users invited by id (`user:…`).
    Invitee,
}

impl LookupKind {
    /// The stored `kind`: none for contacts (as written before invitees were counted).
    pub(super) fn stored(self) -> Option<&'static str> {
        match self {
            LookupKind::Contact => None,
            LookupKind::Invitee => Some("invitee"),
        }
    }

    pub(super) fn filter(self) -> bson::Bson {
        match self.stored() {
            Some(kind) => kind.into(),
            None => doc! { "$ne": "invitee" }.into(),
        }
    }
}

/// One contact key looked up, or one user invited, by one inviter, when first.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LookupDocument {
    pub(super) inviter_id: String,
    pub(super) key: String,
    pub(super) at: bson::DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) kind: Option<String>,
}

pub(in crate::store) fn indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "inviterId": 1, "key": 1 })
            .options(IndexOptions::builder().unique(true).build())
            .build(),
        IndexModel::builder()
            .keys(doc! { "at": 1 })
            .options(IndexOptions::builder().expire_after(WINDOW).build())
            .build(),
        IndexModel::builder().keys(doc! { "key": 1 }).build(),
    ]
}
