//! The push bus: a change is published as one document in the `pushes` collection (the
//! outbox); every process watches that collection through a MongoDB change stream and
//! delivers the change to its own connections, rendering the session as it is now for
//! each recipient (a process's own changes render the session as its write answered,
//! when no newer value was pushed meanwhile: see `written`). Where the database offers no
//! change streams (a standalone mongod), the service says so once at start-up and
//! delivers within its own process only.
//!
//! A push is numbered by its place in the change history (`number`), so every process
//! delivers pushes in the order of their numbers. Delivery takes the pushes waiting in
//! order, a batch at a time: when it falls behind (a burst of joins to one session), the
//! pushes of one session in a batch are rendered once, and each recipient receives one
//! frame of the session as it is now, numbered by the last push that named them — fewer
//! frames, never an older state, and the fan-out catches up instead of falling further
//! behind.
//!
//! Delivery is live and at most once. When the change stream fails (the database restarted
//! or is unreachable), it is resumed from its resume token as soon as the database answers,
//! so nothing published meanwhile is missed; when it cannot be resumed (the database no
//! longer holds that history), every connection of this process gets one `social:resync`
//! frame and clients refetch.
//!
//! Here: publishing, the change stream and its resumption; `delivery` renders and sends a
//! batch, `replay` answers a reconnecting client's `?resumeAfter=`.

mod delivery;
mod replay;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::board::PropBoard;
use super::hub::{ConnectionHub, PushFrame};
use super::written::WrittenSessions;
use crate::backoff::Backoff;
use crate::domain::change::SessionChange;
use crate::domain::ids::{EventId, new_id};
use crate::domain::session::{Prop, Session};
use crate::store::cache::MembershipNews;
use crate::store::push_numbers::MAX_RANK;
use crate::store::pushes::{PushDocument, PushStream, ResumeToken};
use crate::store::request_answers::RecordedAnswer;
use crate::store::{Store, StoreResult};

/// Endpoint name of the push sent after a change to a session.
pub const SESSION_UPDATED: &str = "social:sessionUpdated";
/// Endpoint name of the push sent when a session is deleted or out of sight.
pub const SESSION_DELETED: &str = "social:sessionDeleted";
/// Endpoint name of the push that reminds a participant that an occurrence starts soon.
pub const SESSION_STARTING: &str = "social:sessionStarting";
/// Endpoint name of the push that tells a client that pushes may have been missed.
pub const RESYNC: &str = "social:resync";
/// The frame that tells a client that pushes may have been missed and it should refetch.
pub const RESYNC_FRAME: &str = r#"{"endpoint":"social:resync","data":{}}"#;
/// Pause before the change stream is opened again after it failed.
const REOPEN_DELAY: Duration = Duration::from_millis(500);
/// Longest pause between two attempts to reopen the change stream: short enough that
/// pushes flow again within seconds of the database coming back.
const MAX_REOPEN_DELAY: Duration = Duration::from_secs(2);

/// The `data` of a `social:sessionDeleted` push.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDeleted<'a> {
    pub session_id: &'a str,
}

/// A change to publish (see [`Pushes::publish_all`]).
#[derive(Debug)]
pub enum Publication {
    /// A change to a session (see [`Pushes::publish`]).
    Change(SessionChange),
    /// A change at props of no one session (see [`Pushes::publish_props`]).
    Props {
        props: Vec<Prop>,
        event_id: Option<EventId>,
    },
}

/// What a resuming connection receives before live pushes.
#[derive(Debug)]
pub enum Replay {
    /// Each session the client missed pushes of, once, as it is now, in the order of
    /// their last pushes: the live pushes numbered up to `through` are not sent again.
    Missed {
        frames: Vec<Arc<PushFrame>>,
        through: i64,
    },
    /// Pushes may have been missed: one `social:resync` frame.
    Resync,
}

/// How pushes travel between processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushMode {
    /// Through the database's change streams, to every process.
    Shared,
    /// Within this process only.
    Local,
}

/// Most pushes the change stream hands to delivery at once: the pushes of one session
/// among them are rendered once.
const DELIVERY_BATCH: usize = 1024;
/// Pushes read from the change stream and not yet delivered: past this, reading waits.
const DELIVERY_QUEUE: usize = 4096;
/// Sessions of one batch rendered at the same time.
const RENDERED_AT_ONCE: usize = 8;
/// Most sessions of whose audience a resuming user may be; more, and the client refetches
/// (`social:resync`).
const MAX_AUDIENCE_SESSIONS: usize = 5000;
/// Most bytes of frames one resumption sends before live pushes; more and the client
/// refetches (`social:resync`).
pub const MAX_REPLAYED_BYTES: usize = 2 * 1024 * 1024;
/// Sessions a replay reads at a time.
const REPLAY_READ_BATCH: usize = 4;

/// The push service of one process.
pub struct Pushes {
    store: Store,
    hub: ConnectionHub,
    mode: PushMode,
    /// In local mode, the queue of the one task that delivers this process's changes.
    local: Option<mpsc::Sender<PushDocument>>,
    /// In local mode, held while a push is numbered, written and queued, so that pushes
    /// are delivered in the order of their numbers.
    local_order: tokio::sync::Mutex<()>,
    /// Sessions as this process's writes left them, until their pushes are delivered.
    written: WrittenSessions,
    /// Shared mode: the number of the last push delivered here; local mode: the last
    /// number this process gave.
    last_sequence: AtomicI64,
    /// The number of the last prop-board push of each user (shared mode).
    prop_numbers: Mutex<HashMap<String, i64>>,
    /// The props this process's connections watch.
    board: Arc<PropBoard>,
    /// Each session this process wrote, as its write answered (see
    /// [`Pushes::written_sessions`]).
    written_news: broadcast::Sender<Arc<Session>>,
    /// Hashes of users whose erasure this process heard of (see
    /// [`Pushes::is_being_erased`]).
    erasing: Mutex<std::collections::HashSet<String>>,
}

/// Sessions written and not yet taken by a listener of [`Pushes::written_sessions`]:
/// past this, the oldest are dropped for that listener (it is told how many).
const WRITTEN_NEWS: usize = 4096;

impl Pushes {
    /// Opens the change stream of the `pushes` collection and starts delivering; falls back
    /// to local delivery, saying so, where the database has no change streams.
    pub async fn start(store: Store, shutdown: CancellationToken) -> Arc<Pushes> {
        let stream = store.watch_pushes(None).await;
        let mode = match &stream {
            Ok(_) => PushMode::Shared,
            Err(error) => {
                tracing::warn!(
                    %error,
                    "the database offers no change streams (a standalone MongoDB?): pushes reach \
                     only the connections of this process; run MongoDB as a replica set to serve \
                     from several processes"
                );
                PushMode::Local
            }
        };
        let (sender, queue) = mpsc::channel(DELIVERY_QUEUE);
        let pushes = Arc::new(Pushes {
            store,
            hub: ConnectionHub::default(),
            mode,
            local: (mode == PushMode::Local).then(|| sender.clone()),
            local_order: tokio::sync::Mutex::new(()),
            written: WrittenSessions::default(),
            last_sequence: AtomicI64::new(0),
            prop_numbers: Mutex::default(),
            board: Arc::default(),
            written_news: broadcast::Sender::new(WRITTEN_NEWS),
            erasing: Mutex::default(),
        });
        tokio::spawn(Arc::clone(&pushes).wake_on_membership_news(shutdown.clone()));
        tokio::spawn(Arc::clone(&pushes).deliver_queued(queue, shutdown.clone()));
        if let Ok(stream) = stream {
            tokio::spawn(Arc::clone(&pushes).listen(stream, sender, shutdown));
        }
        pushes
    }

    /// Local mode: the number of a new push, the current time in microseconds, or one
    /// more than the last number this process gave when that is later.
    fn next_sequence(&self) -> i64 {
        let now = chrono::Utc::now().timestamp_micros();
        let previous = self
            .last_sequence
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or(now);
        now.max(previous + 1)
    }

    /// The number of a new push of `user_id`'s prop board: above the session pushes this
    /// process delivered so far (it is numbered when its look has found a change, after
    /// the session push that woke it), and above the user's last prop push. In shared mode
    /// it ranks after the last session push delivered here (`store::push_numbers`).
    pub fn next_prop_number(&self, user_id: &str) -> i64 {
        if self.mode == PushMode::Local {
            return self.next_sequence();
        }
        let delivered = self.last_sequence.load(Ordering::Relaxed);
        let mut numbers = self
            .prop_numbers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let last = numbers.get(user_id).copied().unwrap_or(0).max(delivered);
        let rank = (last - delivered + 1).min(MAX_RANK);
        let number = delivered + rank;
        // Numbers at or below the last delivered push are of no more use.
        if numbers.len() >= 4096 {
            numbers.retain(|_, number| *number > delivered);
        }
        numbers.insert(user_id.to_owned(), number);
        number
    }

    pub fn mode(&self) -> PushMode {
        self.mode
    }

    /// Wakes the prop watches of each user whose memberships are added or changed: they
    /// may see more, or less; all of them when such news may have been missed.
    async fn wake_on_membership_news(self: Arc<Self>, shutdown: CancellationToken) {
        let mut news = self.store.membership_news();
        loop {
            let told = tokio::select! {
                () = shutdown.cancelled() => return,
                told = news.recv() => told,
            };
            match told {
                Ok(MembershipNews::Of(user_id)) => self.board.wake_user(&user_id),
                Ok(MembershipNews::Missed)
                | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => self.board.wake_all(),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Delivers the pushes queued by the change stream (or, in local mode, by this
    /// process), in order, a batch at a time: when delivery falls behind, the pushes of
    /// one session that wait together are rendered once.
    async fn deliver_queued(
        self: Arc<Self>,
        mut queue: mpsc::Receiver<PushDocument>,
        shutdown: CancellationToken,
    ) {
        let mut batch = Vec::with_capacity(DELIVERY_BATCH);
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return,
                received = queue.recv_many(&mut batch, DELIVERY_BATCH) => received,
            };
            if received == 0 {
                return;
            }
            self.deliver(&batch).await;
            batch.clear();
        }
    }

    pub fn hub(&self) -> &ConnectionHub {
        &self.hub
    }

    /// The props this process's connections watch.
    pub fn board(&self) -> &Arc<PropBoard> {
        &self.board
    }

    /// Publishes a change to every process (or delivers it here, in local mode). Delivery
    /// is best effort: a failure is logged and never fails the change itself.
    pub async fn publish(&self, change: SessionChange) {
        self.publish_all(vec![Publication::Change(change)], None)
            .await;
    }

    /// Publishes a change at `props` of no one session — of the event `event_id`, when
    /// given (its sessions became visible, or their repetitions changed): their watchers,
    /// on every process, look again.
    pub async fn publish_props(&self, props: Vec<Prop>, event_id: Option<EventId>) {
        self.publish_all(vec![Publication::Props { props, event_id }], None)
            .await;
    }

    /// Publishes `publications` in order, as [`Pushes::publish`] and
    /// [`Pushes::publish_props`] do; the last one, when `carrying` is given, under that
    /// push id and with that request answer (see `api::retries`). Answers whether the
    /// answer was written with it.
    pub async fn publish_all(
        &self,
        publications: Vec<Publication>,
        carrying: Option<(String, RecordedAnswer)>,
    ) -> bool {
        for publication in &publications {
            if let Publication::Change(SessionChange {
                written: Some(session),
                ..
            }) = publication
            {
                // Nobody listening is no failure.
                let _ = self.written_news.send(Arc::clone(session));
            }
        }
        let mut pushes: Vec<PushDocument> = publications
            .into_iter()
            .filter_map(|publication| self.push_of(publication))
            .collect();
        let carried = match (pushes.last_mut(), carrying) {
            (Some(last), Some((push_id, answer))) => {
                self.written.rename(&last.id, &push_id);
                last.id = push_id;
                last.answer = Some(answer);
                true
            }
            _ => false,
        };
        let mut written = false;
        for push in pushes {
            written = self.send(push).await;
        }
        carried && written
    }

    /// Each session this process writes from now on, as its write answered, when it
    /// publishes the change (the reminders look whether one is due at once).
    pub fn written_sessions(&self) -> broadcast::Receiver<Arc<Session>> {
        self.written_news.subscribe()
    }

    /// Sends reminders (pushes made by [`PushDocument::reminding`], whose ids follow from
    /// the user and the occurrence): each is written once however often it is sent, here
    /// or by other processes, and delivered once. Answers once every one of them is
    /// written (now or before).
    pub async fn remind(&self, reminders: Vec<PushDocument>) -> StoreResult<()> {
        let Some(queue) = &self.local else {
            return self.store.insert_pushes_once(&reminders).await;
        };
        for mut reminder in reminders {
            let _in_order = self.local_order.lock().await;
            reminder.sequence = self.next_sequence();
            if self.store.insert_push_once(&reminder).await? && queue.send(reminder).await.is_err()
            {
                tracing::warn!("local push delivery has stopped");
            }
        }
        Ok(())
    }

    /// Ends every connection of `user_id`, on this process and (through a push naming
    /// only a hash of the id) on every other: their data is being erased.
    pub async fn close_connections_of(&self, user_id: &str) -> StoreResult<()> {
        let hash = crate::domain::ids::user_hash(user_id);
        self.ended(&hash);
        if self.mode == PushMode::Shared {
            let push = PushDocument {
                ended_user: Some(hash),
                ..PushDocument::at_props(new_id(), 0, Vec::new(), None)
            };
            self.store.insert_push(&push).await?;
        }
        Ok(())
    }

    /// Ends the connections of the user whose hash is `hash` here, and refuses new ones
    /// while their erasure runs.
    pub(super) fn ended(&self, hash: &str) {
        self.erasing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(hash.to_owned());
        self.hub.end_user(hash);
    }

    /// Whether `user_id`'s data is being erased (their connections are refused): looked up
    /// in the database only for users whose erasure this process heard of. A database
    /// that does not answer counts as yes.
    pub async fn is_being_erased(&self, user_id: &str) -> bool {
        let hash = {
            let erasing = self.erasing.lock().unwrap_or_else(PoisonError::into_inner);
            if erasing.is_empty() {
                return false;
            }
            let hash = crate::domain::ids::user_hash(user_id);
            if !erasing.contains(&hash) {
                return false;
            }
            hash
        };
        match self.store.erasure(&hash).await {
            Ok(Some(record)) if record.state == crate::store::person::ErasureState::Running => true,
            Ok(_) => {
                self.erasing
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&hash);
                false
            }
            Err(_) => true,
        }
    }

    /// The push document of `publication`, `None` when it tells no one anything.
    fn push_of(&self, publication: Publication) -> Option<PushDocument> {
        match publication {
            Publication::Change(change) => {
                if change.is_empty() {
                    return None;
                }
                let version = change.written.as_ref().map(|session| session.version);
                let written = change.written.clone();
                let push = PushDocument::new(new_id(), 0, change, version);
                if let Some(session) = written {
                    self.written.keep(&push.id, session);
                }
                Some(push)
            }
            Publication::Props {
                mut props,
                event_id,
            } => {
                props.sort_unstable();
                props.dedup();
                (!props.is_empty()).then(|| PushDocument::at_props(new_id(), 0, props, event_id))
            }
        }
    }

    /// Writes a push to the outbox (and, in local mode, numbers it and queues it for
    /// delivery here); answers whether it was written to the database.
    async fn send(&self, mut push: PushDocument) -> bool {
        match &self.local {
            Some(queue) => {
                let _in_order = self.local_order.lock().await;
                push.sequence = self.next_sequence();
                // Kept for clients that resume, though delivered here (a change at props
                // only is for no one's log, unless it carries an answer).
                let kept = !push.session_id.is_empty() || push.answer.is_some();
                let written = kept
                    && match self.store.insert_push(&push).await {
                        Ok(()) => true,
                        Err(error) => {
                            tracing::warn!(%error, session = %push.session_id, "cannot keep a push");
                            false
                        }
                    };
                if queue.send(push).await.is_err() {
                    tracing::warn!("local push delivery has stopped");
                }
                written
            }
            None => match self.store.insert_push(&push).await {
                Ok(()) => true,
                Err(error) => {
                    self.written.forget(&push.id);
                    tracing::warn!(%error, session = %push.session_id, "cannot publish a push");
                    false
                }
            },
        }
    }

    /// Reads the change stream into the delivery queue, resuming it when it fails.
    async fn listen(
        self: Arc<Self>,
        mut stream: PushStream,
        delivery: mpsc::Sender<PushDocument>,
        shutdown: CancellationToken,
    ) {
        loop {
            let polled = tokio::select! {
                () = shutdown.cancelled() => return,
                polled = self.store.next_push(&mut stream) => polled,
            };
            match polled {
                Ok(Some(push)) => {
                    let queued = tokio::select! {
                        () = shutdown.cancelled() => return,
                        queued = delivery.send(push) => queued,
                    };
                    if queued.is_err() {
                        return;
                    }
                }
                Ok(None) if stream.is_alive() => {}
                failure => {
                    let mut token = stream.resume_token();
                    if let Err(error) = failure {
                        tracing::warn!(%error, "the push change stream failed; resuming it");
                        if error.is_resume_point_lost() {
                            token = None;
                        }
                    }
                    match self.reopen(token, &shutdown).await {
                        Some(reopened) => stream = reopened,
                        None => return,
                    }
                }
            }
        }
    }
    /// Opens the change stream again after it failed: from `token` while the database
    /// still holds what followed it (retrying while the database is away), otherwise
    /// afresh, telling every connection of this process to refetch with one
    /// `social:resync` frame. `None` when the service shuts down first.
    async fn reopen(
        &self,
        token: Option<ResumeToken>,
        shutdown: &CancellationToken,
    ) -> Option<PushStream> {
        let mut resumable = token.is_some();
        let mut backoff = Backoff::new(REOPEN_DELAY, MAX_REOPEN_DELAY);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return None,
                () = backoff.pause() => {}
            }
            let reopened = if resumable {
                self.store.watch_pushes(token.clone()).await
            } else {
                self.store.watch_pushes(None).await
            };
            match reopened {
                Ok(stream) => {
                    if resumable {
                        tracing::info!("the push change stream resumed");
                    } else {
                        // A deletion may be among the missed pushes.
                        self.written.forget_all();
                        let connections = self.hub.broadcast(RESYNC_FRAME);
                        // And changes at any watched prop.
                        self.board.wake_all();
                        tracing::warn!(
                            connections,
                            "the push change stream could not be resumed: changes may have been \
                             missed; every connection was told to refetch (social:resync)"
                        );
                    }
                    return Some(stream);
                }
                // The database answers but refuses the token (its history is gone, or any
                // other refusal): waiting will not help.
                Err(error) if resumable && !error.is_unavailable() => {
                    tracing::warn!(%error, "the push change stream cannot resume from its token");
                    resumable = false;
                }
                Err(error) => tracing::warn!(%error, "cannot reopen the push change stream"),
            }
        }
    }
}

/// A frame for one recipient, with its number: `(number, user id, frame)`.
type Addressed = (i64, String, Arc<PushFrame>);

/// What one recipient is owed of one session after a run of its pushes: the last push
/// that named them, and whether it told them of the session's deletion (or that they lost
/// sight of it).
#[derive(Debug, Clone, PartialEq)]
struct Owed<'a> {
    user_id: &'a str,
    number: i64,
    deleted: bool,
}

/// `data` (a rendered [`SessionEnvelope`] of a viewer who does not wait) with the
/// viewer's `waitlistPosition` added: as rendering the session for a waiting viewer
/// answers, for the cost of a copy.
fn with_waitlist_position(data: &RawValue, rank: u64) -> Option<Box<RawValue>> {
    let envelope = data.get().strip_suffix("}}")?;
    RawValue::from_string(format!("{envelope},\"waitlistPosition\":{rank}}}}}")).ok()
}

/// The `social:sessionStarting` frame of `push`, when it is a reminder: its recipient and
/// frame.
fn reminder_frame(push: &PushDocument) -> Option<(&str, Arc<PushFrame>)> {
    let reminder = push.reminder.as_ref()?;
    let frame = push_frame(
        SESSION_STARTING,
        &push.sequence.to_string(),
        &reminder.starting,
    )
    .inspect_err(|error| tracing::warn!(%error, "cannot render a reminder"))
    .ok()?;
    Some((reminder.user_id.as_str(), frame))
}

/// The `social:sessionDeleted` frame of `session_id`, numbered `number`.
fn deletion_frame(session_id: &str, number: i64) -> Option<Arc<PushFrame>> {
    let deleted = SessionDeleted { session_id };
    push_frame(SESSION_DELETED, &number.to_string(), &deleted)
        .inspect_err(|error| tracing::warn!(%error, "cannot render a push"))
        .ok()
}

/// A push frame with `data` rendered as JSON once.
pub fn push_frame(
    endpoint: &'static str,
    event_id: &str,
    data: &impl Serialize,
) -> Result<Arc<PushFrame>, serde_json::Error> {
    Ok(Arc::new(PushFrame::new(
        endpoint,
        event_id.to_owned(),
        serde_json::value::to_raw_value(data)?,
    )))
}

#[cfg(test)]
mod tests {
    use super::delivery::{by_session, owed_after};
    use super::*;
    use crate::domain::session::Session;
    use crate::domain::session::view::{SessionEnvelope, SessionView};
    use serde_json::Value;

    fn push(session_id: &str, sequence: i64, to_audience: bool, deleted: &[&str]) -> PushDocument {
        let mut push = PushDocument::at_props(new_id(), sequence, Vec::new(), None);
        push.session_id = session_id.into();
        push.to_audience = to_audience;
        push.deleted_for = deleted.iter().map(|user| (*user).to_owned()).collect();
        push
    }

    #[test]
    fn a_waiting_viewers_frame_is_the_common_view_with_their_rank() {
        use crate::domain::people::People;
        use crate::domain::time::Timestamp;
        let mut session = Session::new("s".into(), "owner", None, Timestamp::now());
        session.joined = vec!["seated".into()];
        session.waitlist = vec!["first".into(), "second".into()];
        let people = People::default();
        let render = |viewer: &str| {
            let data = SessionEnvelope {
                session: SessionView::render(&session, &people, &viewer.into()),
            };
            serde_json::value::to_raw_value(&data).unwrap()
        };
        let common = render("");
        for (viewer, rank) in [("first", 1), ("second", 2)] {
            let spliced = with_waitlist_position(&common, rank).unwrap();
            let spliced: Value = serde_json::from_str(spliced.get()).unwrap();
            let rendered: Value = serde_json::from_str(render(viewer).get()).unwrap();
            assert_eq!(spliced, rendered);
            assert_eq!(spliced["session"]["waitlistPosition"], rank);
        }
    }

    #[test]
    fn pushes_are_grouped_by_session_in_order() {
        let pushes = [
            push("s", 1, true, &[]),
            push("t", 2, true, &[]),
            push("s", 3, true, &[]),
            push("", 4, false, &[]),
        ];
        let grouped: Vec<(&str, Vec<i64>)> = by_session(&pushes)
            .into_iter()
            .map(|(id, pushes)| {
                (
                    id.as_str(),
                    pushes.iter().map(|push| push.sequence).collect(),
                )
            })
            .collect();
        assert_eq!(grouped, [("s", vec![1, 3]), ("t", vec![2])]);
    }

    #[test]
    fn the_audience_is_owed_the_last_push_to_it_and_the_named_their_deletion() {
        let pushes = [
            push("s", 1, true, &[]),
            push("s", 2, false, &["b"]),
            push("s", 3, true, &[]),
            push("s", 4, false, &["d"]),
            push("s", 5, false, &[]),
        ];
        let pushes: Vec<&PushDocument> = pushes.iter().collect();
        // "b" lost sight at 2 and is back in the audience by 3; "c" has no connection here.
        let owed = owed_after(&pushes, &["a", "b", "c"], |user_id| user_id != "c");
        let owed: Vec<(&str, i64, bool)> = owed
            .iter()
            .map(|owed| (owed.user_id, owed.number, owed.deleted))
            .collect();
        assert_eq!(owed, [("b", 3, false), ("d", 4, true), ("a", 3, false)]);
        // The owner of a session just created hears of it from the next change only.
        let mut created = push("s", 6, true, &[]);
        created.except = Some("a".into());
        let created: Vec<&PushDocument> = vec![&created];
        assert!(owed_after(&created, &["a"], |_| true).is_empty());
        let updated = push("s", 7, true, &[]);
        let both = vec![created[0], &updated];
        assert_eq!(owed_after(&both, &["a"], |_| true)[0].number, 7);
        // Without a push to the audience, only the named hear of anything.
        let named_only: Vec<&PushDocument> = pushes[1..2].to_vec();
        let owed = owed_after(&named_only, &["a", "b"], |_| true);
        assert_eq!(owed.len(), 1);
        assert!(owed[0].deleted && owed[0].user_id == "b");
    }
}
