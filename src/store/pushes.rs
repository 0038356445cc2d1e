//! The `pushes` collection: the bus that carries session changes to every server process.
//!
//! Each change is one inserted document; every process watches the collection's inserts
//! through a change stream and delivers the change to its own connections. Each push has
//! a `sequence` (see `Pushes::next_sequence`), increasing: its frames' `event.id`. Documents are kept ten minutes, the log a reconnecting client resumes from
//! (`?resumeAfter=`).

use std::time::Duration;

use bson::doc;
use mongodb::IndexModel;
use mongodb::change_stream::ChangeStream;
use mongodb::change_stream::event::ChangeStreamEvent;
pub use mongodb::change_stream::event::ResumeToken;
use mongodb::options::IndexOptions;
use serde::{Deserialize, Serialize};

use super::{Store, StoreResult};
use crate::domain::session::Prop;
use crate::domain::time::Timestamp;
use crate::push::SessionChange;

pub const COLLECTION: &str = "pushes";
/// How long a push document is kept: how far back a client can resume.
pub const KEPT_FOR: Duration = Duration::from_secs(600);
/// Most pushes one resumption replays; more and the client refetches instead.
pub const MAX_REPLAYED: i64 = 1000;
/// Longest wait of one change stream poll; a new change is delivered as soon as it exists.
const POLL_WAIT: Duration = Duration::from_millis(250);

/// The change stream of new push documents.
pub type PushStream = ChangeStream<ChangeStreamEvent<PushDocument>>;

/// One change to a session and who hears of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushDocument {
    #[serde(rename = "_id")]
    pub id: String,
    pub at: bson::DateTime,
    pub session_id: String,
    /// Users who receive `social:sessionUpdated` with the session as it is now.
    pub updated_for: Vec<String>,
    /// Users who receive `social:sessionDeleted`.
    pub deleted_for: Vec<String>,
    /// The push's number, increasing (microseconds of its time, unique within a process):
    /// its frames' `event.id`.
    #[serde(default)]
    pub sequence: i64,
    /// Whether the session itself was deleted (not only out of some people's sight).
    #[serde(default)]
    pub session_deleted: bool,
    /// The session's `version` after the change, when it was not deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// The props whose watchers look again (`social:watchProp`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    /// The event whose change moved its sessions' props (published, or its end moved):
    /// every process forgets its copy before the watchers look.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

impl PushDocument {
    /// A push of a change to `session_id`, written now: `version` is the session's after
    /// the change, `None` when the change deleted it.
    pub fn new(
        id: String,
        sequence: i64,
        change: SessionChange,
        version: Option<i64>,
    ) -> PushDocument {
        PushDocument {
            id,
            sequence,
            at: Timestamp::now().into(),
            session_id: change.session_id,
            updated_for: change.updated_for,
            deleted_for: change.deleted_for,
            session_deleted: version.is_none(),
            version,
            props: change.props,
            event_id: None,
        }
    }

    /// A change at `props` of no one session (an event's sessions became visible, or their
    /// repetitions changed, when `event_id` is given): only the props' watchers look again.
    pub fn at_props(
        id: String,
        sequence: i64,
        props: Vec<Prop>,
        event_id: Option<String>,
    ) -> PushDocument {
        PushDocument {
            id,
            sequence,
            at: Timestamp::now().into(),
            session_id: String::new(),
            updated_for: Vec::new(),
            deleted_for: Vec::new(),
            session_deleted: false,
            version: None,
            props,
            event_id,
        }
    }
}

/// The numbers of the prop board's pushes (`social:propSessionsUpdated`), kept as long as
/// the push log: they are sent to one connection and written nowhere else, and a client
/// may resume after one.
pub const PROP_PUSHES: &str = "propPushes";

/// That a push of a user's prop board was numbered `sequence`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropPushRecord {
    user_id: String,
    sequence: i64,
    at: bson::DateTime,
}

/// Removes a document [`KEPT_FOR`] after its `at`.
fn kept_for_the_log() -> IndexModel {
    IndexModel::builder()
        .keys(doc! { "at": 1 })
        .options(IndexOptions::builder().expire_after(KEPT_FOR).build())
        .build()
}

pub(super) fn prop_push_indexes() -> Vec<IndexModel> {
    vec![
        kept_for_the_log(),
        IndexModel::builder()
            .keys(doc! { "userId": 1, "sequence": 1 })
            .build(),
    ]
}

pub(super) fn indexes() -> Vec<IndexModel> {
    vec![
        kept_for_the_log(),
        IndexModel::builder()
            .keys(doc! { "updatedFor": 1, "sequence": 1 })
            .build(),
        IndexModel::builder()
            .keys(doc! { "deletedFor": 1, "sequence": 1 })
            .build(),
    ]
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

    /// When the push numbered `sequence` was sent to `user_id`: a session push for them,
    /// or a push of their prop board. `None` when no such push is kept.
    pub async fn push_issued_at(
        &self,
        user_id: &str,
        sequence: i64,
    ) -> StoreResult<Option<bson::DateTime>> {
        let session_push = self
            .read(self.pushes().find_one(doc! {
                "sequence": sequence,
                "$or": [{ "updatedFor": user_id }, { "deletedFor": user_id }],
            }))
            .await?;
        if let Some(push) = session_push {
            return Ok(Some(push.at));
        }
        let prop_push = self
            .read(
                self.prop_pushes()
                    .find_one(doc! { "userId": user_id, "sequence": sequence }),
            )
            .await?;
        Ok(prop_push.map(|push| push.at))
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

    /// The pushes for `user_id` after `sequence`, in order: at most [`MAX_REPLAYED`] + 1.
    pub async fn pushes_for_after(
        &self,
        user_id: &str,
        sequence: i64,
    ) -> StoreResult<Vec<PushDocument>> {
        self.read_all(
            self.pushes()
                .find(doc! {
                    "sequence": { "$gt": sequence },
                    "$or": [{ "updatedFor": user_id }, { "deletedFor": user_id }],
                })
                .sort(doc! { "sequence": 1 })
                .limit(MAX_REPLAYED + 1),
        )
        .await
    }

    pub async fn insert_push(&self, push: &PushDocument) -> StoreResult<()> {
        self.write(self.pushes().insert_one(push)).await?;
        Ok(())
    }

    /// The next push of `stream`: `None` when none came within one poll. A stream that
    /// gives no answer within the deadline (a connection that died without a word) fails
    /// with [`super::StoreError::TimedOut`].
    pub async fn next_push(&self, stream: &mut PushStream) -> StoreResult<Option<PushDocument>> {
        let polled = super::within(None, self.deadline + POLL_WAIT, stream.next_if_any()).await?;
        Ok(polled.and_then(|event| event.full_document))
    }

    /// A change stream of new push documents, resuming after `token` when given.
    pub async fn watch_pushes(&self, token: Option<ResumeToken>) -> StoreResult<PushStream> {
        let stream = self
            .read(
                self.pushes()
                    .watch()
                    .pipeline([doc! { "$match": { "operationType": "insert" } }])
                    .max_await_time(POLL_WAIT)
                    .resume_after(token),
            )
            .await?;
        Ok(stream)
    }
}
