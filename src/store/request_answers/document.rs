//! A request's recorded answer as stored: its key, its document, what a claim finds,
//! and the collection's indexes.

use std::time::Duration;

use bson::doc;
use mongodb::IndexModel;
use mongodb::options::IndexOptions;
use serde::{Deserialize, Serialize};

use crate::domain::time::Timestamp;

pub const COLLECTION: &str = "requestAnswers";

/// How long a request's answer is kept for its retries.
pub const KEPT_FOR: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RequestKey {
    pub(super) user: String,
    pub(super) event: String,
}

/// The answer a request got: its `data` as JSON text (none: no `data`), and its code and
/// message (`0` and empty for a success). `withheld`: a success whose `data` is not kept
/// (a credential, or a large rendering of the object `shows`); a retry works it out again
/// (`Endpoint::answer_again`, or reading `shows` as it is then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedAnswer {
    pub data: Option<String>,
    pub code: i32,
    pub message: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shows: Option<ShownObject>,
}

/// The object a withheld answer rendered: its key in the answer (`session`, `event`) and
/// its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShownObject {
    pub key: String,
    pub id: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RequestDocument {
    #[serde(rename = "_id")]
    pub(super) key: RequestKey,
    pub(super) endpoint: String,
    pub(super) data_hash: String,
    pub(super) claimed_at: bson::DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) answer: Option<RecordedAnswer>,
}

/// A request already recorded under the same user and `event.id`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub endpoint: String,
    pub data_hash: String,
    pub claimed_at: Timestamp,
    /// `None` while the first request is still being worked on.
    pub answer: Option<RecordedAnswer>,
}

/// What claiming a request found.
#[derive(Debug)]
pub enum Claimed {
    /// The request is this caller's to work on, claimed at the `now` given.
    Claimed,
    /// A request with the same user and `event.id` is recorded.
    Recorded(RecordedRequest),
    /// One was, and is gone (answered with a failure, or expired) since.
    Gone,
}

pub(in crate::store) fn indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "claimedAt": 1 })
            .options(IndexOptions::builder().expire_after(KEPT_FOR).build())
            .build(),
    ]
}
