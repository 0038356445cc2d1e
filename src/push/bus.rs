//! The push bus: a change is published as one document in the `pushes` collection (the
//! outbox); every process watches that collection through a MongoDB change stream and
//! delivers the change to its own connections, rendering the session as it is now for
//! each recipient (a process's own changes render the session as its write answered,
//! when no newer value was pushed meanwhile: see `written`). Where the database offers no change streams (a standalone mongod), the
//! service says so once at start-up and delivers within its own process only.
//!
//! Delivery is live and at most once. When the change stream fails (the database restarted
//! or is unreachable), it is resumed from its resume token as soon as the database answers,
//! so nothing published meanwhile is missed; when it cannot be resumed (the database no
//! longer holds that history), every connection of this process gets one `social:resync`
//! frame and clients refetch.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::board::PropBoard;
use super::change::{SessionChange, audience};
use super::hub::{ConnectionHub, PushFrame};
use super::written::WrittenSessions;
use crate::api::endpoint::PushRegistration;
use crate::api::envelope::encode_push;
use crate::api::examples;
use crate::backoff::Backoff;
use crate::domain::ids::new_id;
use crate::domain::session::{Prop, Session, SessionEnvelope, SessionView};
use crate::store::cache::MembershipNews;
use crate::store::pushes::{KEPT_FOR, MAX_REPLAYED, PushDocument, PushStream, ResumeToken};
use crate::store::{Store, StoreResult};

/// Endpoint name of the push sent after a change to a session.
pub const SESSION_UPDATED: &str = "social:sessionUpdated";
/// Endpoint name of the push sent when a session is deleted or out of sight.
pub const SESSION_DELETED: &str = "social:sessionDeleted";
/// Changes waiting for local delivery (local mode).
const LOCAL_QUEUE: usize = 1024;
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
struct SessionDeleted<'a> {
    session_id: &'a str,
}

/// The `data` of a `social:resync` push: an empty object.
#[derive(Serialize, JsonSchema)]
#[schemars(extend("maxProperties" = 0))]
struct Resync {}

inventory::submit! {
    PushRegistration::of::<SessionEnvelope>(
        SESSION_UPDATED,
        "A session in the recipient's audience changed (or the recipient joined its \
         audience): the session as the recipient sees it now, as `social:getSession` \
         renders it.",
        || example_push(SESSION_UPDATED, &json!({ "session": examples::session(true) })),
    )
}

inventory::submit! {
    PushRegistration::of::<SessionDeleted<'static>>(
        SESSION_DELETED,
        "A session was deleted (also when its event was), or the recipient lost sight of \
         it (uninvited from a Private session).",
        || example_push(SESSION_DELETED, &SessionDeleted { session_id: examples::SESSION_ID }),
    )
}

inventory::submit! {
    PushRegistration::of::<Resync>(
        RESYNC,
        "Pushes may have been missed (the service could not resume its change history): \
         refetch what is shown. Exactly this frame, without `error` or `event`.",
        || examples::frame(RESYNC_FRAME),
    )
    .unstamped()
}

/// A whole push frame of `endpoint` with `data`, encoded as pushes are sent.
fn example_push(endpoint: &'static str, data: &impl Serialize) -> Value {
    push_frame(endpoint, examples::PUSH_ID, data)
        .map(|frame| examples::frame(&encode_push(&frame)))
        .unwrap_or_default()
}

/// What a resuming connection receives before live pushes.
#[derive(Debug)]
pub enum Replay {
    /// The missed pushes, in order: the same pushes arriving live are not sent again.
    Missed { frames: Vec<Arc<PushFrame>> },
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

/// The push service of one process.
pub struct Pushes {
    store: Store,
    hub: ConnectionHub,
    /// In local mode, the queue of the one task that delivers this process's changes.
    local: Option<mpsc::Sender<PushDocument>>,
    /// Sessions as this process's writes left them, until their pushes are delivered.
    written: WrittenSessions,
    /// The number of the last push this process published.
    last_sequence: AtomicI64,
    /// The props this process's connections watch.
    board: Arc<PropBoard>,
}

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
        let (local, local_queue) = match mode {
            PushMode::Shared => (None, None),
            PushMode::Local => {
                let (sender, receiver) = mpsc::channel(LOCAL_QUEUE);
                (Some(sender), Some(receiver))
            }
        };
        let pushes = Arc::new(Pushes {
            store,
            hub: ConnectionHub::default(),
            local,
            written: WrittenSessions::default(),
            last_sequence: AtomicI64::new(0),
            board: Arc::default(),
        });
        tokio::spawn(Arc::clone(&pushes).wake_on_membership_news(shutdown.clone()));
        if let Ok(stream) = stream {
            tokio::spawn(Arc::clone(&pushes).listen(stream, shutdown));
        } else if let Some(queue) = local_queue {
            tokio::spawn(Arc::clone(&pushes).deliver_local(queue, shutdown));
        }
        pushes
    }

    /// The number of a new push: the current time in microseconds, or one more than the
    /// last number this process gave when that is later. Numbers increase within a process,
    /// and across processes follow their clocks — no shared counter to wait for. The pushes
    /// of the prop board take their numbers here too, so that they rise with the session
    /// pushes numbered around them (a prop push is numbered when its look has found a
    /// change; a session push when its change is published, and delivered later).
    pub fn next_sequence(&self) -> i64 {
        let now = chrono::Utc::now().timestamp_micros();
        let previous = self
            .last_sequence
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or(now);
        now.max(previous + 1)
    }

    pub fn mode(&self) -> PushMode {
        if self.local.is_some() {
            PushMode::Local
        } else {
            PushMode::Shared
        }
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

    /// Delivers the changes of this process one after the other, in the order they were
    /// published, as the change stream does for shared delivery.
    async fn deliver_local(
        self: Arc<Self>,
        mut queue: mpsc::Receiver<PushDocument>,
        shutdown: CancellationToken,
    ) {
        loop {
            let push = tokio::select! {
                () = shutdown.cancelled() => return,
                push = queue.recv() => match push {
                    Some(push) => push,
                    None => return,
                },
            };
            self.deliver(&push).await;
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
        if change.is_empty() {
            return;
        }
        let version = change.written.as_ref().map(|session| session.version);
        let written = change.written.clone();
        let push = PushDocument::new(new_id(), self.next_sequence(), change, version);
        if let Some(session) = written {
            self.written.keep(&push.id, session);
        }
        self.send(push).await;
    }

    /// Publishes a change at `props` of no one session — of the event `event_id`, when
    /// given (its sessions became visible, or their repetitions changed): their watchers,
    /// on every process, look again.
    pub async fn publish_props(&self, mut props: Vec<Prop>, event_id: Option<String>) {
        props.sort_unstable();
        props.dedup();
        if props.is_empty() {
            return;
        }
        let push = PushDocument::at_props(new_id(), self.next_sequence(), props, event_id);
        self.send(push).await;
    }

    /// Writes a push to the outbox (and, in local mode, queues it for delivery here).
    async fn send(&self, push: PushDocument) {
        match &self.local {
            Some(queue) => {
                // Kept for clients that resume, though delivered here (a change at props
                // only is for no one's log).
                let for_someone = !push.session_id.is_empty();
                if for_someone && let Err(error) = self.store.insert_push(&push).await {
                    tracing::warn!(%error, session = %push.session_id, "cannot keep a push");
                }
                if queue.send(push).await.is_err() {
                    tracing::warn!("local push delivery has stopped");
                }
            }
            None => {
                if let Err(error) = self.store.insert_push(&push).await {
                    self.written.forget(&push.id);
                    tracing::warn!(%error, session = %push.session_id, "cannot publish a push");
                }
            }
        }
    }

    async fn listen(self: Arc<Self>, mut stream: PushStream, shutdown: CancellationToken) {
        loop {
            let polled = tokio::select! {
                () = shutdown.cancelled() => return,
                polled = self.store.next_push(&mut stream) => polled,
            };
            match polled {
                Ok(Some(push)) => self.deliver(&push).await,
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

    /// What a client reconnecting with `?resumeAfter=after` receives first: every push
    /// for `user_id` since the one numbered `after`, in order, rendered as things are now
    /// (none of them twice: see `http::connection`); or one `social:resync` frame when that cannot
    /// be done — `after` was not a push for this user, it is older than the kept log, more
    /// pushes followed than one resumption replays, or the database does not answer.
    pub async fn replay(&self, user_id: &str, after: &str) -> Replay {
        match self.replay_from_log(user_id, after).await {
            Ok(Some(replay)) => replay,
            Ok(None) => Replay::Resync,
            Err(error) => {
                tracing::warn!(%error, "cannot replay missed pushes; the client refetches");
                Replay::Resync
            }
        }
    }

    async fn replay_from_log(&self, user_id: &str, after: &str) -> StoreResult<Option<Replay>> {
        let Ok(after) = after.parse::<i64>() else {
            return Ok(None);
        };
        let kept_since =
            chrono::Utc::now() - chrono::Duration::from_std(KEPT_FOR).unwrap_or_default();
        let issued = self.store.push_issued_at(user_id, after).await?;
        if issued.is_none_or(|at| chrono::DateTime::<chrono::Utc>::from(at) < kept_since) {
            return Ok(None);
        }
        let missed = self.store.pushes_for_after(user_id, after).await?;
        if missed.len() as i64 > MAX_REPLAYED {
            return Ok(None);
        }
        // Every session the missed updates name, and their people, in two reads.
        let recipient = user_id.to_owned();
        let mut session_ids: Vec<&str> = missed
            .iter()
            .filter(|push| push.updated_for.contains(&recipient))
            .map(|push| push.session_id.as_str())
            .collect();
        session_ids.sort_unstable();
        session_ids.dedup();
        let sessions: std::collections::HashMap<String, Session> = self
            .store
            .sessions_by_ids(&session_ids)
            .await?
            .into_iter()
            .map(|session| (session.id.clone(), session))
            .collect();
        let people = self
            .store
            .people(sessions.values().flat_map(|session| session.people()))
            .await?;
        // Only sessions the recipient is still in the audience of, as live delivery decides.
        let mut in_audience = HashSet::new();
        for session in sessions.values() {
            let out_of_sight = self.store.waiting_out_of_sight(session, [user_id]).await?;
            if audience(session).contains(&recipient) && out_of_sight.is_empty() {
                in_audience.insert(session.id.as_str());
            }
        }
        let mut frames = Vec::new();
        for push in &missed {
            let session = sessions
                .get(&push.session_id)
                .filter(|_| push.updated_for.contains(&recipient))
                .filter(|session| in_audience.contains(session.id.as_str()));
            if let Some(session) = session {
                let data = SessionEnvelope {
                    session: SessionView::render(session, &people, user_id),
                };
                if let Ok(frame) = push_frame(SESSION_UPDATED, &push.sequence.to_string(), &data) {
                    frames.push(frame);
                }
            }
            if push.deleted_for.contains(&recipient) {
                let deleted = SessionDeleted {
                    session_id: &push.session_id,
                };
                if let Ok(frame) = push_frame(SESSION_DELETED, &push.sequence.to_string(), &deleted)
                {
                    frames.push(frame);
                }
            }
        }
        Ok(Some(Replay::Missed { frames }))
    }

    /// Sends a change to this process's connections of its recipients.
    async fn deliver(&self, push: &PushDocument) {
        let written_at = chrono::DateTime::<chrono::Utc>::from(push.at);
        if let Ok(lag) = (chrono::Utc::now() - written_at).to_std() {
            crate::metrics::push_lag(lag);
        }
        if let Some(event_id) = &push.event_id {
            self.store.forget_cached_event(event_id);
        }
        if !push.session_id.is_empty() {
            self.deliver_session_change(push).await;
        }
        // Last: a prop push this change causes is numbered after the session pushes just
        // sent, and follows them.
        self.board.changed(&push.props);
    }

    /// Sends a change to a session to this process's connections of its recipients.
    async fn deliver_session_change(&self, push: &PushDocument) {
        // What each push says of its session counts even where nobody here hears of it.
        let versions = self.store.session_versions();
        match push.version {
            _ if push.session_deleted => versions.note_deleted(&push.session_id),
            Some(version) => versions.note(&push.session_id, version),
            None => {}
        }
        let written = self.written.take(&push.id, versions);
        let updated: Vec<&String> = push
            .updated_for
            .iter()
            .filter(|user_id| self.hub.has_connections(user_id))
            .collect();
        if !updated.is_empty() {
            match self.render_updates(push, written, &updated).await {
                Ok(frames) => {
                    for (user_id, frame) in frames {
                        self.hub.send(user_id, &frame);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, session = %push.session_id, "cannot render a push")
                }
            }
        }
        if !push.deleted_for.is_empty() {
            let deleted = SessionDeleted {
                session_id: &push.session_id,
            };
            match push_frame(SESSION_DELETED, &push.sequence.to_string(), &deleted) {
                Ok(frame) => {
                    for user_id in &push.deleted_for {
                        self.hub.send(user_id, &frame);
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot render a push"),
            }
        }
    }

    /// The `social:sessionUpdated` frame of each recipient: the session as it is now (or
    /// as this process wrote it, `written`, when that may still be pushed), as that
    /// recipient sees it. None when the session is gone (its deletion is pushed).
    async fn render_updates<'a>(
        &self,
        push: &PushDocument,
        written: Option<Arc<Session>>,
        recipients: &[&'a String],
    ) -> StoreResult<Vec<(&'a String, Arc<PushFrame>)>> {
        let session = match written {
            Some(session) => session,
            None => match self.store.find_session(&push.session_id).await? {
                Some(session) => Arc::new(session),
                None => return Ok(Vec::new()),
            },
        };
        let people = self.store.people(session.people()).await?;
        // A recipient who left the audience since the change (uninvited, declined), or
        // waits for a seat but may no longer see the session (it became Private, their
        // membership went), must not see the session as it is now.
        let mut current: HashSet<String> = audience(&session).into_iter().collect();
        let out_of_sight = self
            .store
            .waiting_out_of_sight(&session, recipients.iter().map(|user_id| user_id.as_str()))
            .await?;
        current.retain(|user_id| !out_of_sight.contains(user_id.as_str()));
        let frame_for = |viewer: &str| {
            let data = SessionEnvelope {
                session: SessionView::render(&session, &people, viewer),
            };
            push_frame(SESSION_UPDATED, &push.sequence.to_string(), &data)
                .inspect_err(|error| tracing::warn!(%error, "cannot render a push"))
                .ok()
        };
        // Everyone sees the session alike, but incognito people see themselves: render the
        // common view once.
        let common = frame_for("");
        let mut frames = Vec::new();
        for user_id in recipients
            .iter()
            .filter(|user_id| current.contains(user_id.as_str()))
        {
            // Incognito people see themselves; waiting people their own rank.
            let frame =
                if people.is_incognito(user_id) || session.waitlist_position(user_id).is_some() {
                    frame_for(user_id)
                } else {
                    common.clone()
                };
            if let Some(frame) = frame {
                frames.push((*user_id, frame));
            }
        }
        Ok(frames)
    }
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
