//! One person's records outside sessions and events, across the collections that name
//! them: what an export summarises (pushes and retry answers addressed to them, contact
//! look-ups, their calendar feed and lead time) and what an erasure deletes or rewrites;
//! and the erasure jobs themselves (`erasures`: while one runs it holds the user id, so
//! that a process that stops part-way finishes it on restart; once done, only a hash of
//! the id, the times and the counts).

use std::collections::BTreeMap;

use bson::{Document, doc};
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::calendar_feeds::{ENTRIES, FEEDS};
use super::pushes::{COLLECTION as PUSHES, PROP_PUSHES};
use super::reminders::SETTINGS as REMINDER_SETTINGS;
use super::request_answers::COLLECTION as REQUEST_ANSWERS;
use super::{Store, StoreResult, lookups};
use crate::domain::reminder::ReminderSetting;
use crate::domain::time::Timestamp;

pub const ERASURES: &str = "erasures";

pub(super) fn erasure_indexes() -> Vec<mongodb::IndexModel> {
    vec![
        mongodb::IndexModel::builder()
            .keys(doc! { "state": 1 })
            .build(),
    ]
}

/// How many records of one kind name a person, and when the oldest and the newest were
/// made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecordSummary {
    pub count: u64,
    /// Milliseconds since the epoch; `null` when there are none.
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
}

/// The state of an erasure (`GET /api/v0/internal/users/{userId}/erasure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErasureState {
    Running,
    Done,
}

/// An erasure job as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErasureRecord {
    /// The job's id: a hash of the user id (see `domain::person::user_hash`).
    #[serde(rename = "_id")]
    pub id: String,
    /// The user, while the erasure runs; gone once it is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The user's contact keys (e-mail addresses, phone numbers) as the platform had them
    /// when the erasure began, while it runs: pending invitations to them are withdrawn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_keys: Vec<String>,
    /// Sessions whose seat the user freed, while it runs: their waitlists are served on
    /// every run, so that a run cut short after freeing a seat still hands it on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freed: Vec<crate::domain::ids::SessionId>,
    /// The run working on it, and until when it holds it, while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<bson::DateTime>,
    pub state: ErasureState,
    pub started: bson::DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<bson::DateTime>,
    /// What was erased, by kind.
    #[serde(default)]
    pub counts: BTreeMap<String, u64>,
}

/// A filter matching JSON text that holds `user_id` as a whole string value (`"<id>"`,
/// JSON-escaped): for answers kept as text. Built from the id's characters, each escaped
/// for the pattern, never from a client's query.
fn json_string_pattern(user_id: &str) -> bson::Regex {
    let quoted = serde_json::to_string(user_id).unwrap_or_default();
    bson::Regex {
        pattern: escaped(&quoted),
        options: String::new(),
    }
}

/// The pushes addressed to `user_id` by name.
fn pushes_naming(user_id: &str) -> Document {
    doc! { "$or": [
        { "deletedFor": user_id },
        { "reminder.userId": user_id },
        { "except": user_id },
    ] }
}

/// The contact look-ups `user_id` made, and the records of others inviting them (by id,
/// or by `contact_keys`).
fn lookups_naming(user_id: &str, contact_keys: &[String]) -> Document {
    doc! { "$or": [
        { "inviterId": user_id },
        { "key": format!("user:{user_id}") },
        { "key": { "$in": contact_keys } },
    ] }
}

/// A filter matching text that holds `user_id` anywhere (an error message).
fn text_pattern(user_id: &str) -> bson::Regex {
    bson::Regex {
        pattern: escaped(user_id),
        options: String::new(),
    }
}

/// `text` with every character a pattern treats specially escaped.
fn escaped(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() * 2);
    for character in text.chars() {
        if character.is_ascii_alphanumeric() || !character.is_ascii() {
            pattern.push(character);
        } else {
            pattern.push('\\');
            pattern.push(character);
        }
    }
    pattern
}

impl Store {
    fn raw(&self, collection: &str) -> mongodb::Collection<Document> {
        self.database().collection(collection)
    }

    /// How many documents of `collection` match `filter`, and the oldest and newest
    /// `at_field` among them.
    async fn summary(
        &self,
        collection: &str,
        filter: Document,
        at_field: &str,
    ) -> StoreResult<RecordSummary> {
        let documents = self.raw(collection);
        let count = self.read(documents.count_documents(filter.clone())).await?;
        let at = |order: i32| {
            documents
                .find_one(filter.clone())
                .sort(doc! { at_field: order })
                .projection(doc! { at_field: 1 })
        };
        let instant = |found: Option<Document>| {
            found
                .and_then(|document| document.get_datetime(at_field).ok().copied())
                .map(Timestamp::from)
        };
        let oldest = instant(self.read(at(1)).await?);
        let newest = instant(self.read(at(-1)).await?);
        Ok(RecordSummary {
            count,
            oldest,
            newest,
        })
    }

    /// The pushes kept for resumption that are addressed to `user_id` by name.
    pub async fn pushes_of(&self, user_id: &str) -> StoreResult<RecordSummary> {
        self.summary(PUSHES, pushes_naming(user_id), "at").await
    }

    /// The prop-board push records of `user_id`.
    pub async fn prop_pushes_of(&self, user_id: &str) -> StoreResult<RecordSummary> {
        self.summary(PROP_PUSHES, doc! { "userId": user_id }, "at")
            .await
    }

    /// The answers kept for the retries of `user_id`'s requests.
    pub async fn retry_answers_of(&self, user_id: &str) -> StoreResult<RecordSummary> {
        self.summary(REQUEST_ANSWERS, doc! { "_id.user": user_id }, "claimedAt")
            .await
    }

    /// The contact look-ups and invitations by id `user_id` made, and others' records of
    /// inviting them by id (kept 24 hours).
    pub async fn contact_lookups_of(&self, user_id: &str) -> StoreResult<RecordSummary> {
        self.summary(lookups::COLLECTION, lookups_naming(user_id, &[]), "at")
            .await
    }

    /// Whether `user_id` has a calendar feed, and when it was made (`None` inside for a
    /// feed made before that was kept).
    pub async fn calendar_feed_of(&self, user_id: &str) -> StoreResult<Option<Option<Timestamp>>> {
        let feed = self
            .read(self.raw(FEEDS).find_one(doc! { "_id": user_id }))
            .await?;
        Ok(feed.map(|feed| {
            feed.get_datetime("created")
                .ok()
                .copied()
                .map(Timestamp::from)
        }))
    }

    /// `user_id`'s lead time, when they chose one.
    pub async fn chosen_reminder_setting(
        &self,
        user_id: &str,
    ) -> StoreResult<Option<ReminderSetting>> {
        let found = self
            .read(
                self.raw(REMINDER_SETTINGS)
                    .find_one(doc! { "_id": user_id }),
            )
            .await?;
        Ok(found.map(|document| {
            let minutes = match document.get("minutes") {
                Some(bson::Bson::Int32(minutes)) => u16::try_from(*minutes).ok(),
                Some(bson::Bson::Int64(minutes)) => u16::try_from(*minutes).ok(),
                _ => None,
            };
            ReminderSetting::new(minutes).unwrap_or_default()
        }))
    }

    /// Deletes or rewrites every record outside sessions and events that names
    /// `user_id`: their lead time, calendar feed and its entries (and their name as the
    /// organizer in others' feeds), prop-board push records,
    /// contact look-ups (theirs, and others' invitations of them), the pushes addressed to
    /// them (the others forget them as recipients), and the kept answers of requests —
    /// theirs, and others' whose answer names them (a retry of such a request within the
    /// ten minutes answers are kept is worked on afresh). Idempotent. Answers the counts
    /// by kind.
    pub async fn erase_records_of(
        &self,
        user_id: &str,
        contact_keys: &[String],
    ) -> StoreResult<BTreeMap<String, u64>> {
        let mut counts = BTreeMap::new();
        let mut deleted = |kind: &str, count: u64| {
            counts.insert(kind.to_owned(), count);
        };
        let removed = |collection: &str, filter: Document| {
            let documents = self.raw(collection);
            async move {
                self.write(documents.delete_many(filter))
                    .await
                    .map(|r| r.deleted_count)
            }
        };
        deleted(
            "reminderSettings",
            removed(REMINDER_SETTINGS, doc! { "_id": user_id }).await?,
        );
        deleted(
            "calendarFeeds",
            removed(FEEDS, doc! { "_id": user_id }).await?,
        );
        let own_entries = removed(ENTRIES, doc! { "userId": user_id }).await?;
        // Others' feeds keep their sessions, cancelled, for a while: without their name.
        let organized = self
            .write(self.raw(ENTRIES).update_many(
                doc! { "organizerId": user_id },
                doc! { "$set": { "organizerId": "", "organizerName": "" } },
            ))
            .await?
            .modified_count;
        deleted("calendarFeedEntries", own_entries + organized);
        deleted(
            "propPushes",
            removed(PROP_PUSHES, doc! { "userId": user_id }).await?,
        );
        deleted(
            "contactLookups",
            removed(lookups::COLLECTION, lookups_naming(user_id, contact_keys)).await?,
        );
        let naming_answer = doc! { "$or": [
            { "answer.data": json_string_pattern(user_id) },
            { "answer.message": text_pattern(user_id) },
        ] };
        deleted(
            "retryAnswers",
            removed(
                REQUEST_ANSWERS,
                doc! { "$or": [{ "_id.user": user_id }, naming_answer.clone()] },
            )
            .await?,
        );
        let pushes = self.raw(PUSHES);
        let reminders = removed(PUSHES, doc! { "reminder.userId": user_id }).await?;
        let named = self
            .write(pushes.update_many(
                doc! { "deletedFor": user_id },
                doc! { "$pull": { "deletedFor": user_id } },
            ))
            .await?
            .modified_count;
        let excepted = self
            .write(pushes.update_many(
                doc! { "except": user_id },
                doc! { "$unset": { "except": "" } },
            ))
            .await?
            .modified_count;
        self.write(pushes.update_many(naming_answer, doc! { "$unset": { "answer": "" } }))
            .await?;
        deleted("pushes", reminders + named + excepted);
        Ok(counts)
    }

    /// Starts the erasure of `user_id` (whose hash is `id`) at `now`, or answers the one
    /// that runs; one that is done starts again under the same id (the user may have been
    /// created again since).
    pub async fn begin_erasure(
        &self,
        id: &str,
        user_id: &str,
        contact_keys: &[String],
        now: Timestamp,
    ) -> StoreResult<ErasureRecord> {
        let erasures = self.database().collection::<ErasureRecord>(ERASURES);
        self.write(erasures.update_one(
            doc! { "_id": id, "state": "done" },
            doc! {
                "$set": {
                    "userId": user_id,
                    "contactKeys": contact_keys,
                    "state": "running",
                    "started": bson::DateTime::from(now),
                    "counts": {},
                },
                "$unset": { "finished": "" },
            },
        ))
        .await?;
        let record = self
            .write(
                erasures
                    .find_one_and_update(
                        doc! { "_id": id },
                        doc! { "$setOnInsert": {
                            "userId": user_id,
                            "contactKeys": contact_keys,
                            "state": "running",
                            "started": bson::DateTime::from(now),
                            "counts": {},
                        } },
                    )
                    .upsert(true)
                    .return_document(ReturnDocument::After),
            )
            .await?;
        record.ok_or_else(|| super::StoreError::unwritable("an upserted erasure is missing"))
    }

    /// The erasure whose id is `id`.
    pub async fn erasure(&self, id: &str) -> StoreResult<Option<ErasureRecord>> {
        let erasures = self.database().collection::<ErasureRecord>(ERASURES);
        self.read(erasures.find_one(doc! { "_id": id })).await
    }

    /// Erasures that began and that no run holds at `now` (their process stopped).
    pub async fn stalled_erasures(&self, now: Timestamp) -> StoreResult<Vec<ErasureRecord>> {
        let erasures = self.database().collection::<ErasureRecord>(ERASURES);
        self.read_all(erasures.find(doc! { "state": "running", "$or": [
            { "leaseUntil": { "$exists": false } },
            { "leaseUntil": { "$lte": bson::DateTime::from(now) } },
        ] }))
        .await
    }

    /// Adds `counts` to the counts of erasure `id`.
    pub async fn count_erased(&self, id: &str, counts: &BTreeMap<String, u64>) -> StoreResult<()> {
        let mut increments = Document::new();
        for (kind, count) in counts {
            increments.insert(
                format!("counts.{kind}"),
                i64::try_from(*count).unwrap_or(i64::MAX),
            );
        }
        if increments.is_empty() {
            return Ok(());
        }
        let erasures = self.raw(ERASURES);
        self.write(erasures.update_one(doc! { "_id": id }, doc! { "$inc": increments }))
            .await?;
        Ok(())
    }

    /// Takes (or keeps) the running erasure `id` for `runner` until `until`, unless another
    /// run holds it past `now`: answers whether `runner` holds it.
    pub async fn hold_erasure(
        &self,
        id: &str,
        runner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool> {
        let erasures = self.raw(ERASURES);
        let held = self
            .write(erasures.update_one(
                doc! { "_id": id, "state": "running", "$or": [
                    { "runner": runner },
                    { "leaseUntil": { "$exists": false } },
                    { "leaseUntil": { "$lte": bson::DateTime::from(now) } },
                ] },
                doc! { "$set": { "runner": runner, "leaseUntil": bson::DateTime::from(until) } },
            ))
            .await?;
        Ok(held.matched_count == 1)
    }

    /// Notes that the user freed a seat of `session_id` in erasure `id`.
    pub async fn note_freed_seat(
        &self,
        id: &str,
        session_id: &crate::domain::ids::SessionId,
    ) -> StoreResult<()> {
        let erasures = self.raw(ERASURES);
        self.write(erasures.update_one(
            doc! { "_id": id },
            doc! { "$addToSet": { "freed": session_id } },
        ))
        .await?;
        Ok(())
    }

    /// Marks erasure `id` done at `now` when `runner` holds it, forgetting the user id and
    /// what it kept of them while it ran.
    pub async fn finish_erasure(&self, id: &str, runner: &str, now: Timestamp) -> StoreResult<()> {
        let erasures = self.raw(ERASURES);
        self.write(erasures.update_one(
            doc! { "_id": id, "runner": runner },
            doc! {
                "$set": { "state": "done", "finished": bson::DateTime::from(now) },
                "$unset": {
                    "userId": "", "contactKeys": "", "freed": "", "runner": "", "leaseUntil": "",
                },
            },
        ))
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_pattern_matches_the_quoted_id_and_escapes_everything_else() {
        let pattern = json_string_pattern("a.b*(c)\"d");
        assert_eq!(pattern.pattern, r#"\"a\.b\*\(c\)\\\"d\""#);
        assert_eq!(json_string_pattern("ada").pattern, r#"\"ada\""#);
        assert_eq!(text_pattern("a+b").pattern, r"a\+b");
    }
}
