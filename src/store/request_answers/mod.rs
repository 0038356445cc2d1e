//! The `requestAnswers` collection: for idempotent retries, one document per user and
//! `event.id` of a request that changes data — which endpoint and `data` it was, whether it
//! is still being worked on, and its answer once there is one. Documents expire ten
//! minutes after the request.

mod document;

use bson::doc;

use super::{Store, StoreResult};
use crate::domain::ids::UserId;
use crate::domain::time::Timestamp;

pub(super) use self::document::indexes;
pub use self::document::{
    COLLECTION, Claimed, KEPT_FOR, RecordedAnswer, RecordedRequest, ShownObject,
};
use self::document::{RequestDocument, RequestKey};

fn key_of(user_id: &UserId, event_id: &str) -> StoreResult<bson::Bson> {
    bson::to_bson(&RequestKey {
        user: user_id.to_string(),
        event: event_id.to_owned(),
    })
    .map_err(super::StoreError::unwritable)
}

/// The filter of request `event_id` of `user_id` as claimed at `claimed_at`.
fn claimed_by(
    user_id: &UserId,
    event_id: &str,
    claimed_at: Timestamp,
) -> StoreResult<bson::Document> {
    Ok(doc! {
        "_id": key_of(user_id, event_id)?,
        "claimedAt": bson::DateTime::from(claimed_at),
    })
}

impl Store {
    fn request_answers(&self) -> mongodb::Collection<RequestDocument> {
        self.database().collection(COLLECTION)
    }

    /// Records that `user_id` sent request `event_id` (to `endpoint`, with data hashing to
    /// `data_hash`) and answers `Claimed`; or, when that user already sent a request with
    /// this `event.id`, answers what is recorded of it (`Gone` when it disappeared between
    /// the two looks: try again).
    pub async fn claim_request(
        &self,
        user_id: &UserId,
        event_id: &str,
        endpoint: &str,
        data_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Claimed> {
        let document = RequestDocument {
            key: RequestKey {
                user: user_id.to_string(),
                event: event_id.to_owned(),
            },
            endpoint: endpoint.to_owned(),
            data_hash: data_hash.to_owned(),
            claimed_at: now.into(),
            answer: None,
        };
        match self
            .insert_or_duplicate(self.request_answers().insert_one(&document))
            .await
        {
            Ok(_) => return Ok(Claimed::Claimed),
            Err(error) if error.is_duplicate_key() => {}
            Err(error) => return Err(error),
        }
        let recorded = self
            .read(
                self.request_answers()
                    .find_one(doc! { "_id": key_of(user_id, event_id)? }),
            )
            .await?;
        Ok(recorded.map_or(Claimed::Gone, |document| {
            Claimed::Recorded(RecordedRequest {
                endpoint: document.endpoint,
                data_hash: document.data_hash,
                claimed_at: document.claimed_at.into(),
                answer: document.answer,
            })
        }))
    }

    /// Takes over a request whose first attempt was claimed at `claimed_at` and never
    /// answered (its process died): answers whether this caller now holds it.
    pub async fn take_over_request(
        &self,
        user_id: &UserId,
        event_id: &str,
        claimed_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let result = self
            .write(self.request_answers().update_one(
                {
                    let mut filter = claimed_by(user_id, event_id, claimed_at)?;
                    filter.insert("answer", doc! { "$exists": false });
                    filter
                },
                doc! { "$set": { "claimedAt": bson::DateTime::from(now) } },
            ))
            .await?;
        Ok(result.modified_count == 1)
    }

    /// Records the answer of request `event_id` of `user_id`, claimed at `claimed_at`:
    /// answers whether it was kept (not when a retry took the request over since).
    pub async fn record_answer(
        &self,
        user_id: &UserId,
        event_id: &str,
        claimed_at: Timestamp,
        answer: &RecordedAnswer,
    ) -> StoreResult<bool> {
        let answer = bson::to_bson(answer).map_err(super::StoreError::unwritable)?;
        let result = self
            .write(self.request_answers().update_one(
                claimed_by(user_id, event_id, claimed_at)?,
                doc! { "$set": { "answer": answer } },
            ))
            .await?;
        Ok(result.matched_count == 1)
    }

    /// Forgets request `event_id` of `user_id`, claimed at `claimed_at`, so that a retry
    /// is worked on afresh (nothing when a retry took it over since).
    pub async fn forget_request(
        &self,
        user_id: &UserId,
        event_id: &str,
        claimed_at: Timestamp,
    ) -> StoreResult<()> {
        self.write(
            self.request_answers()
                .delete_one(claimed_by(user_id, event_id, claimed_at)?),
        )
        .await?;
        Ok(())
    }
}
