//! A push as stored: its document, the prop board's push records, what a user's change
//! history holds, and the collections' indexes.

use std::time::Duration;

use bson::doc;
use mongodb::IndexModel;
use mongodb::change_stream::ChangeStream;
use mongodb::change_stream::event::ChangeStreamEvent;
use mongodb::options::IndexOptions;
use serde::{Deserialize, Serialize};

use crate::domain::change::SessionChange;
use crate::domain::ids::{EventId, SessionId};
use crate::domain::reminder::SessionStarting;
use crate::domain::session::Prop;
use crate::domain::time::Timestamp;
use crate::store::request_answers::RecordedAnswer;

pub const COLLECTION: &str = "pushes";

/// How long a push document is kept: how far back a client can resume.
pub const KEPT_FOR: Duration = Duration::from_secs(600);

/// Most pushes one resumption replays; more and the client refetches instead.
pub const MAX_REPLAYED: i64 = 1000;

/// The change stream of new push documents.
pub type PushStream = ChangeStream<ChangeStreamEvent<PushDocument>>;

/// One change to a session and who hears of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushDocument {
    #[serde(rename = "_id")]
    pub id: String,
    pub at: bson::DateTime,
    pub session_id: SessionId,
    /// Whether the session's audience as it is when delivered receives
    /// `social:sessionUpdated` with the session as it is then.
    #[serde(default)]
    pub to_audience: bool,
    /// A user of that audience who does not receive it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except: Option<String>,
    /// Users who receive `social:sessionDeleted`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_for: Vec<String>,
    /// The push's number, its frames' `event.id`: where the database has no change
    /// streams, given by this process (increasing, microseconds of its time) and stored;
    /// otherwise 0 when stored, and its place in the change history once delivered.
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
    pub event_id: Option<EventId>,
    /// The answer of the request that made the change, kept for its retries (see
    /// `api::retries`): written with the push, so that keeping it costs no write of its
    /// own. Found by the push's `_id`, which the request's claim determines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<RecordedAnswer>,
    /// A reminder for one user (`social:sessionStarting`), of no session's audience: its
    /// `_id` follows from the user and the occurrence, so that it is written once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<ReminderPush>,
    /// The hash of a user whose connections every process ends (their data is being
    /// erased): the hash, so that the push log does not name them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_user: Option<String>,
}

/// A reminder as pushed: to whom, and what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderPush {
    pub user_id: String,
    pub starting: SessionStarting,
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
            to_audience: change.to_audience,
            except: change.except,
            deleted_for: change.deleted_for,
            session_deleted: version.is_none(),
            version,
            props: change.props,
            event_id: None,
            answer: None,
            reminder: None,
            ended_user: None,
        }
    }

    /// The reminder `reminder`, under the id `id` (see [`PushDocument::reminder`]).
    pub fn reminding(id: String, reminder: ReminderPush) -> PushDocument {
        PushDocument {
            reminder: Some(reminder),
            ..PushDocument::at_props(id, 0, Vec::new(), None)
        }
    }

    /// A change at `props` of no one session (an event's sessions became visible, or their
    /// repetitions changed, when `event_id` is given): only the props' watchers look again.
    pub fn at_props(
        id: String,
        sequence: i64,
        props: Vec<Prop>,
        event_id: Option<EventId>,
    ) -> PushDocument {
        PushDocument {
            id,
            sequence,
            at: Timestamp::now().into(),
            session_id: SessionId::default(),
            to_audience: false,
            except: None,
            deleted_for: Vec::new(),
            session_deleted: false,
            version: None,
            props,
            event_id,
            answer: None,
            reminder: None,
            ended_user: None,
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
pub(super) struct PropPushRecord {
    pub(super) user_id: String,
    pub(super) sequence: i64,
    pub(super) at: bson::DateTime,
}

/// Removes a document [`KEPT_FOR`] after its `at`.
pub(super) fn kept_for_the_log() -> IndexModel {
    IndexModel::builder()
        .keys(doc! { "at": 1 })
        .options(IndexOptions::builder().expire_after(KEPT_FOR).build())
        .build()
}

pub(in crate::store) fn prop_push_indexes() -> Vec<IndexModel> {
    vec![
        kept_for_the_log(),
        IndexModel::builder()
            .keys(doc! { "userId": 1, "sequence": 1 })
            .build(),
    ]
}

pub(in crate::store) fn indexes() -> Vec<IndexModel> {
    vec![
        kept_for_the_log(),
        IndexModel::builder()
            .keys(doc! { "sessionId": 1, "sequence": 1 })
            .build(),
        IndexModel::builder()
            .keys(doc! { "deletedFor": 1, "sequence": 1 })
            .build(),
        IndexModel::builder()
            .keys(doc! { "reminder.userId": 1, "sequence": 1 })
            .build(),
        IndexModel::builder().keys(doc! { "except": 1 }).build(),
    ]
}

/// What the change history holds for one user after a push (see
/// [`Store::push_history`]).
#[derive(Debug)]
pub struct PushHistory {
    /// Whether the push at the anchor was for the user.
    pub anchor_for_user: bool,
    /// The user's pushes after the anchor, in order, numbered.
    pub pushes: Vec<PushDocument>,
    /// Whether these are all of them (not cut at the limit).
    pub complete: bool,
}
