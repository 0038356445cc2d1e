//! The `pushes` collection: the bus that carries session changes to every server process.
//!
//! Each change is one inserted document; every process watches the collection's inserts
//! through a change stream and delivers the change to its own connections. A push names
//! no recipients when the session's audience hears of it (they are read from the session
//! when it is delivered), so it stays small whatever the audience; it names only those
//! told of a deletion or that they lost sight of a session. Each push has
//! a number, its frames' `event.id`: its place in the change history (`push_numbers`),
//! or, where the database has no change streams, the `sequence` this process gave it.
//! Documents are kept ten minutes, the log a reconnecting client resumes from
//! (`?resumeAfter=`): through the change history since the push it names, or by
//! `sequence`.

mod document;

use std::time::Duration;

use bson::doc;
use mongodb::change_stream::event::ChangeStreamEvent;
pub use mongodb::change_stream::event::ResumeToken;

use super::push_numbers::PushNumber;
use super::request_answers::RecordedAnswer;
use super::{Store, StoreResult};
use crate::domain::time::Timestamp;

use self::document::PropPushRecord;
pub use self::document::{
    COLLECTION, KEPT_FOR, MAX_REPLAYED, PROP_PUSHES, PushDocument, PushHistory, PushStream,
    ReminderPush,
};
pub(super) use self::document::{indexes, prop_push_indexes};

/// Longest wait of one change stream poll; a new change is delivered as soon as it exists.
const POLL_WAIT: Duration = Duration::from_millis(250);
/// Most pushes one read of the change stream returns: after a burst, the stream catches
/// up in few reads (each costs the database a look through its change history).
const STREAM_BATCH: u32 = 1000;
/// Longest wait for more of the change history while a resumption reads it: past the
/// end of the history, nothing more comes.
const HISTORY_POLL_WAIT: Duration = Duration::from_millis(20);

/// The pushes that may be for a user: those naming them, and those to the audience of
/// a session among `sessions` (the sessions of whose audience they are), fields of a push
/// document prefixed by `prefix` (`""`, or `"fullDocument."` in a change stream).
fn for_user(user_id: &str, sessions: &[String], prefix: &str) -> bson::Document {
    doc! { "$or": [
        { format!("{prefix}deletedFor"): user_id },
        { format!("{prefix}reminder.userId"): user_id },
        {
            format!("{prefix}toAudience"): true,
            format!("{prefix}sessionId"): { "$in": sessions },
            format!("{prefix}except"): { "$ne": user_id },
        },
    ] }
}

/// Whether `push` may have been for `user_id`, of whose audience `sessions` are (see
/// [`for_user`]).
fn is_for_user(push: &PushDocument, user_id: &str, sessions: &[String]) -> bool {
    push.deleted_for.iter().any(|user| user == user_id)
        || push
            .reminder
            .as_ref()
            .is_some_and(|reminder| reminder.user_id == user_id)
        || push.to_audience
            && sessions.iter().any(|session| push.session_id == *session)
            && push.except.as_deref() != Some(user_id)
}

/// The push a change stream event inserted, numbered by its place in the change history.
fn numbered(event: ChangeStreamEvent<PushDocument>) -> Option<PushDocument> {
    let mut push = event.full_document?;
    if let Some(at) = event.cluster_time {
        push.sequence = PushNumber::of_insert(at);
    }
    Some(push)
}

impl super::StoreError {
    /// Whether a change stream cannot be resumed from its token: the database no longer
    /// holds the history after it (or never held it), so changes may have been missed.
    pub fn is_resume_point_lost(&self) -> bool {
        /// `InvalidResumeToken`, `ChangeStreamFatalError`, `ChangeStreamHistoryLost`.
        const LOST: [i32; 3] = [260, 280, 286];
        matches!(self, super::StoreError::Database(error)
            if matches!(&*error.kind, mongodb::error::ErrorKind::Command(command)
                if LOST.contains(&command.code)))
    }
}

impl Store {
    fn pushes(&self) -> mongodb::Collection<PushDocument> {
        self.database().collection(COLLECTION)
    }

    fn prop_pushes(&self) -> mongodb::Collection<PropPushRecord> {
        self.database().collection(PROP_PUSHES)
    }

    /// When the push numbered `sequence` was sent to `user_id` (of whose audience
    /// `sessions` are): a session push for them, or a push of their prop board. `None`
    /// when no such push is kept.
    pub async fn push_issued_at(
        &self,
        user_id: &str,
        sessions: &[String],
        sequence: i64,
    ) -> StoreResult<Option<bson::DateTime>> {
        let mut filter = for_user(user_id, sessions, "");
        filter.insert("sequence", sequence);
        let session_push = self.read(self.pushes().find_one(filter)).await?;
        if let Some(push) = session_push {
            return Ok(Some(push.at));
        }
        self.prop_push_issued_at(user_id, sequence).await
    }

    /// When the prop-board push numbered `sequence` was sent to `user_id`; `None` when
    /// no such push is kept.
    pub async fn prop_push_issued_at(
        &self,
        user_id: &str,
        sequence: i64,
    ) -> StoreResult<Option<bson::DateTime>> {
        let prop_push = self
            .read(
                self.prop_pushes()
                    .find_one(doc! { "userId": user_id, "sequence": sequence }),
            )
            .await?;
        Ok(prop_push.map(|push| push.at))
    }

    /// The change history of the pushes for `user_id` (of whose audience `sessions` are)
    /// from cluster time `anchor` on, read to its end under one deadline: `None` when the
    /// history no longer holds a push at `anchor` (it is gone, or there never was one). At
    /// most `limit` pushes after the anchor are read; [`PushHistory::complete`] says
    /// whether that was all.
    pub async fn push_history(
        &self,
        user_id: &str,
        sessions: &[String],
        anchor: bson::Timestamp,
        limit: usize,
    ) -> StoreResult<Option<PushHistory>> {
        let pipeline = [doc! { "$match": {
            "operationType": "insert",
            "$or": [for_user(user_id, sessions, "fullDocument."), { "clusterTime": anchor }],
        } }];
        self.read(async {
            let mut stream = self
                .pushes()
                .watch()
                .pipeline(pipeline)
                .start_at_operation_time(anchor)
                .batch_size(STREAM_BATCH)
                .max_await_time(HISTORY_POLL_WAIT)
                .await?;
            let Some(first) = stream.next_if_any().await? else {
                return Ok(None);
            };
            if first.cluster_time != Some(anchor) {
                return Ok(None);
            }
            let anchor_for_user = first
                .full_document
                .is_some_and(|push| is_for_user(&push, user_id, sessions));
            let mut pushes = Vec::new();
            // Each place in the history once, after the anchor (whatever the stream repeats
            // when it resumes by itself).
            let mut last = anchor;
            while let Some(event) = stream.next_if_any().await? {
                let Some(at) = event.cluster_time.filter(|at| *at > last) else {
                    continue;
                };
                last = at;
                if pushes.len() == limit {
                    return Ok(Some(PushHistory {
                        anchor_for_user,
                        pushes,
                        complete: false,
                    }));
                }
                pushes.extend(numbered(event));
            }
            Ok::<_, mongodb::error::Error>(Some(PushHistory {
                anchor_for_user,
                pushes,
                complete: true,
            }))
        })
        .await
    }

    /// Keeps the number of a push of `user_id`'s prop board, so that the user can resume
    /// after it.
    pub async fn record_prop_push(&self, user_id: &str, sequence: i64) -> StoreResult<()> {
        let record = PropPushRecord {
            user_id: user_id.to_owned(),
            sequence,
            at: Timestamp::now().into(),
        };
        self.write(self.prop_pushes().insert_one(record)).await?;
        Ok(())
    }

    /// The pushes for `user_id` (of whose audience `sessions` are) after `sequence`, in
    /// order: at most [`MAX_REPLAYED`] + 1.
    pub async fn pushes_for_after(
        &self,
        user_id: &str,
        sessions: &[String],
        sequence: i64,
    ) -> StoreResult<Vec<PushDocument>> {
        let mut filter = for_user(user_id, sessions, "");
        filter.insert("sequence", doc! { "$gt": sequence });
        self.read_all(
            self.pushes()
                .find(filter)
                .sort(doc! { "sequence": 1 })
                .limit(MAX_REPLAYED + 1),
        )
        .await
    }

    pub async fn insert_push(&self, push: &PushDocument) -> StoreResult<()> {
        self.write(self.pushes().insert_one(push)).await?;
        Ok(())
    }

    /// Writes `pushes` whose ids follow from what they say (reminders): answers whether
    /// the push was written now, `false` when one with its id was written before.
    pub async fn insert_push_once(&self, push: &PushDocument) -> StoreResult<bool> {
        match self
            .insert_or_duplicate(self.pushes().insert_one(push))
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.is_duplicate_key() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Writes `pushes` whose ids follow from what they say (reminders), in one call; those
    /// written before under the same ids stay as they were.
    pub async fn insert_pushes_once(&self, pushes: &[PushDocument]) -> StoreResult<()> {
        if pushes.is_empty() {
            return Ok(());
        }
        match self
            .insert_or_duplicate(self.pushes().insert_many(pushes).ordered(false))
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.is_duplicate_key() => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// The request answer the push `push_id` carries, if that push was written (see
    /// [`PushDocument::answer`]).
    pub async fn answer_in_push(&self, push_id: &str) -> StoreResult<Option<RecordedAnswer>> {
        let found = self
            .read(self.pushes().find_one(doc! { "_id": push_id }))
            .await?;
        Ok(found.and_then(|push| push.answer))
    }

    /// The next push of `stream`: `None` when none came within one poll. A stream that
    /// gives no answer within the deadline (a connection that died without a word) fails
    /// with [`super::StoreError::TimedOut`].
    pub async fn next_push(&self, stream: &mut PushStream) -> StoreResult<Option<PushDocument>> {
        let polled = super::within(None, self.deadline + POLL_WAIT, stream.next_if_any()).await?;
        Ok(polled.and_then(numbered))
    }

    /// A change stream of new push documents, resuming after `token` when given.
    pub async fn watch_pushes(&self, token: Option<ResumeToken>) -> StoreResult<PushStream> {
        let stream = self
            .read(
                self.pushes()
                    .watch()
                    .pipeline([doc! { "$match": { "operationType": "insert" } }])
                    .batch_size(STREAM_BATCH)
                    .max_await_time(POLL_WAIT)
                    .resume_after(token),
            )
            .await?;
        Ok(stream)
    }
}
