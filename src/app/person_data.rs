//! A person's data on request (GDPR Art. 15 and 17): everything this service holds that
//! names one user, exported as JSON, and erased.
//!
//! **Export** — streamed a page at a time, so that a user with thousands of sessions costs
//! a bounded amount of memory; in the order of ids, so that every process answers the
//! same. Kinds: `events` and `sessions` they own (rendered as the API renders them to
//! their owner), `invitations` (session id, role, status), `joined`, `declined` (left
//! without an invitation) and `waitlist` (session ids and places), `calendarFeed` (whether one exists and since when — never its
//! secret), `reminder` (their lead time), and, as counts with the oldest and newest dates,
//! the `pushes` and `propPushes` kept for resumption and the `retryAnswers` and
//! `contactLookups` of their requests. The platform's own `users` and `memberships` are
//! not this service's to export.
//!
//! **Erasure** — a job under an id that follows from the user id (so that a second request
//! finds the same job), run in steps that are each idempotent, so that a process that
//! stops part-way finishes it when it starts again ([`finish_interrupted_erasures`], at
//! start-up and every few minutes, as interrupted event deletions are):
//!
//! 1. their connections on every process are closed (close code [`ERASED_CLOSE_CODE`]), and
//!    new ones refused while it runs;
//! 2. the events they own are deleted with their sessions (as `deleteEvent` does), then
//!    the other sessions they own — each audience hears `social:sessionDeleted`;
//! 3. they are removed from every other session (invitations, participants, declines,
//!    waitlist) — each audience hears `social:sessionUpdated` and the seats they held go
//!    to the waitlists (noted in the job first, so that a run cut short still hands them
//!    on) — and invitations to their contacts still pending are withdrawn (the contact keys
//!    are kept in the job while it runs);
//! 4. their connections are closed once more, and their records elsewhere deleted (lead
//!    time, calendar feed and entries, push records, look-ups, kept answers naming them;
//!    see `Store::erase_records_of`);
//! 5. the job is marked done and forgets the user id, keeping a hash of it, its times and
//!    the counts by kind.
//!
//! One run works on a job at a time (a lease it renews as it goes); a run cut short is
//! taken over once its lease lapses. Counts are added as each step is done. A `DELETE` of a user erased before runs the erasure
//! again under the same job (the platform may have created the user again since).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::deletion;
use super::state::AppState;
use super::waitlist;
use crate::domain::change::SessionChange;
use crate::domain::event::Event;
use crate::domain::ids::{EventId, SessionId, UserId, user_hash};
use crate::domain::session::Session;
use crate::domain::session::view::SessionView;
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::store::person::{ErasureRecord, RecordSummary};
use crate::store::sessions::NamedAs;
use crate::store::{Store, StoreResult};

/// The WebSocket close code of a connection whose user was erased.
pub const ERASED_CLOSE_CODE: u16 = 4410;
/// Sessions or events read per page of an export or an erasure.
const PAGE: i64 = 100;
/// Chunks of an export waiting to be sent: past this, reading waits for the client.
const EXPORT_QUEUE: usize = 4;
/// How often a process looks for erasures another (stopped) process began (a small
/// query on the few erasures still running).
const SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// An invitation, as exported.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportedInvitation<'a> {
    session_id: &'a SessionId,
    role: crate::domain::kinds::InvitationRole,
    status: crate::domain::kinds::InvitationStatus,
}

/// A session taken part in, as exported.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportedSession<'a> {
    session_id: &'a SessionId,
}

/// A place in a waitlist, as exported.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportedPlace<'a> {
    session_id: &'a SessionId,
    /// 1-based.
    position: u64,
}

/// The summaries that end an export.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportedRecords {
    calendar_feed: ExportedFeed,
    reminder: ExportedReminder,
    pushes: RecordSummary,
    prop_pushes: RecordSummary,
    retry_answers: RecordSummary,
    contact_lookups: RecordSummary,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportedFeed {
    exists: bool,
    created: Option<Timestamp>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportedReminder {
    /// The lead time in minutes (`null`: off).
    minutes: Option<u16>,
    /// Whether the user chose it (else it is the default).
    chosen: bool,
}

/// The export of `user_id`'s data as a stream of JSON text, a page at a time. A failure
/// part-way ends the stream early (the text is then no valid JSON, and is logged).
pub fn export(
    app: Arc<AppState>,
    user_id: String,
) -> mpsc::Receiver<Result<Bytes, std::io::Error>> {
    let (sender, receiver) = mpsc::channel(EXPORT_QUEUE);
    tokio::spawn(async move {
        let writer = ExportWriter { sender };
        if let Err(error) = write_export(&app, &user_id, &writer).await {
            tracing::warn!(%error, "a data export stopped part-way");
            let _ = writer
                .sender
                .send(Err(std::io::Error::other(error.to_string())))
                .await;
        }
    });
    receiver
}

/// Where an export's text goes.
struct ExportWriter {
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

/// The client went away: the export stops.
#[derive(Debug, thiserror::Error)]
#[error("the client stopped reading the export")]
struct Gone;

#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Gone(#[from] Gone),
}

impl ExportWriter {
    async fn text(&self, text: String) -> Result<(), Gone> {
        self.sender
            .send(Ok(Bytes::from(text)))
            .await
            .map_err(|_| Gone)
    }
}

/// The lists of an export, in their order.
#[derive(Debug, Clone, Copy)]
enum Listed {
    Events,
    Sessions,
    Invitations,
    Joined,
    /// Sessions they left by declining without an invitation (declined invitations are
    /// among `invitations`).
    Declined,
    Waitlist,
}

impl Listed {
    const ALL: [Listed; 6] = [
        Listed::Events,
        Listed::Sessions,
        Listed::Invitations,
        Listed::Joined,
        Listed::Declined,
        Listed::Waitlist,
    ];

    fn key(self) -> &'static str {
        match self {
            Listed::Events => "events",
            Listed::Sessions => "sessions",
            Listed::Invitations => "invitations",
            Listed::Joined => "joined",
            Listed::Declined => "declined",
            Listed::Waitlist => "waitlist",
        }
    }
}

/// One page of a list of `user_id`'s export, read after the id `after`: its items as JSON
/// text, the id to read the next page after (`None`: this was the last page).
async fn page_of(
    store: &Store,
    user_id: &str,
    listed: Listed,
    after: Option<String>,
) -> Result<(Vec<String>, Option<String>), ExportError> {
    let full = |read: usize| read >= usize::try_from(PAGE).unwrap_or(usize::MAX);
    if let Listed::Events = listed {
        let after = after.map(EventId::from);
        let (events, last): (Vec<Event>, _) =
            store.events_owned_by(user_id, after.as_ref(), PAGE).await?;
        let items = events
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?;
        return Ok((items, last.map(|id| id.to_string())));
    }
    let named = match listed {
        Listed::Invitations => NamedAs::Invitee,
        Listed::Joined => NamedAs::Participant,
        Listed::Declined => NamedAs::Decliner,
        Listed::Waitlist => NamedAs::Waiting,
        Listed::Events | Listed::Sessions => NamedAs::Owner,
    };
    let after = after.map(SessionId::from);
    let sessions = store
        .sessions_naming(user_id, named, after.as_ref(), PAGE)
        .await?;
    let mut items = Vec::new();
    match listed {
        Listed::Sessions => {
            let owner = UserId::from(user_id);
            let people = store
                .people(sessions.iter().flat_map(Session::people))
                .await?;
            for session in &sessions {
                items.push(serde_json::to_string(&SessionView::render(
                    session, &people, &owner,
                ))?);
            }
        }
        Listed::Invitations => {
            for session in &sessions {
                let mine = session
                    .invited
                    .iter()
                    .filter(|invitation| invitation.user_id == user_id);
                for invitation in mine {
                    items.push(serde_json::to_string(&ExportedInvitation {
                        session_id: &session.id,
                        role: invitation.role,
                        status: session.invitation_status_of(user_id),
                    })?);
                }
            }
        }
        Listed::Joined => {
            for session in &sessions {
                items.push(serde_json::to_string(&ExportedSession {
                    session_id: &session.id,
                })?);
            }
        }
        Listed::Declined => {
            for session in sessions
                .iter()
                .filter(|session| !session.is_invited(user_id))
            {
                items.push(serde_json::to_string(&ExportedSession {
                    session_id: &session.id,
                })?);
            }
        }
        Listed::Waitlist => {
            for session in &sessions {
                if let Some(position) = session.waitlist_position(user_id) {
                    items.push(serde_json::to_string(&ExportedPlace {
                        session_id: &session.id,
                        position,
                    })?);
                }
            }
        }
        Listed::Events => {}
    }
    let next = sessions.last().map(|session| session.id.to_string());
    Ok((items, next.filter(|_| full(sessions.len()))))
}

async fn write_export(
    app: &AppState,
    user_id: &str,
    writer: &ExportWriter,
) -> Result<(), ExportError> {
    let store = &app.store;
    let header = serde_json::json!({ "userId": user_id, "exportedAt": Timestamp::now() });
    // The header's fields, then the lists in the same object, then the summaries.
    let header = header.to_string();
    writer.text(header.trim_end_matches('}').to_owned()).await?;
    for listed in Listed::ALL {
        writer.text(format!(",\"{}\":[", listed.key())).await?;
        let mut after = None;
        let mut first = true;
        loop {
            let (items, next) = page_of(store, user_id, listed, after).await?;
            for item in items {
                let separator = if first { "" } else { "," };
                first = false;
                writer.text(format!("{separator}{item}")).await?;
            }
            match next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        writer.text("]".to_owned()).await?;
    }
    let feed = store.calendar_feed_of(user_id).await?;
    let chosen = store.chosen_reminder_setting(user_id).await?;
    let records = ExportedRecords {
        calendar_feed: ExportedFeed {
            exists: feed.is_some(),
            created: feed.flatten(),
        },
        reminder: ExportedReminder {
            minutes: chosen.unwrap_or_default().minutes(),
            chosen: chosen.is_some(),
        },
        pushes: store.pushes_of(user_id).await?,
        prop_pushes: store.prop_pushes_of(user_id).await?,
        retry_answers: store.retry_answers_of(user_id).await?,
        contact_lookups: store.contact_lookups_of(user_id).await?,
    };
    let records = serde_json::to_string(&records)?;
    writer
        .text(format!(",{}", records.trim_start_matches('{')))
        .await?;
    Ok(())
}

/// Begins (or finds) the erasure of `user_id` and runs it in the background (unless a run
/// of it is under way); answers its record as it began.
pub async fn begin_erasure(app: &Arc<AppState>, user_id: &str) -> StoreResult<ErasureRecord> {
    // The job's id is the hash of the user id, which the record keeps once the id is gone.
    let id = user_hash(user_id);
    // Their contact keys while the platform still holds their profile.
    let contact_keys = app
        .store
        .find_user(user_id)
        .await?
        .map(|user| user.contact_keys())
        .unwrap_or_default();
    let record = app
        .store
        .begin_erasure(&id, user_id, &contact_keys, Timestamp::now())
        .await?;
    let app = Arc::clone(app);
    let user_id = user_id.to_owned();
    tokio::spawn(async move {
        if let Err(error) = run(&app, &id, &user_id).await {
            tracing::warn!(%error, "an erasure stopped part-way; the next sweep finishes it");
        }
    });
    Ok(record)
}

/// One run of an erasure: holds it (a lease renewed as it goes, so that one run works on
/// it at a time and another takes over when this one stops) and does what is left.
struct Run<'a> {
    app: &'a AppState,
    id: &'a str,
    runner: String,
}

impl Run<'_> {
    /// Takes or renews the lease; `false` when another run holds it.
    async fn hold(&self) -> Result<bool, ApiError> {
        let now = Timestamp::now();
        let until = Timestamp::saturating_from_millis(now.millis() + LEASE_MILLIS);
        Ok(self
            .app
            .store
            .hold_erasure(self.id, &self.runner, now, until)
            .await?)
    }

    async fn count(&self, kind: &str, count: u64) -> Result<(), ApiError> {
        let counts = BTreeMap::from([(kind.to_owned(), count)]);
        Ok(self.app.store.count_erased(self.id, &counts).await?)
    }
}

/// How long a run holds an erasure without renewing it: a run cut short is taken over
/// this long after its last step at most (plus one sweep).
const LEASE_MILLIS: i64 = 15_000;

/// Runs the erasure `id` of `user_id` (steps 1–5 above) unless another run holds it.
/// Idempotent: a run cut short leaves what is done done, and the next one does the rest.
async fn run(app: &AppState, id: &str, user_id: &str) -> Result<(), ApiError> {
    let run = Run {
        app,
        id,
        runner: crate::domain::ids::new_id(),
    };
    if !run.hold().await? {
        return Ok(());
    }
    let store = &app.store;
    app.pushes.close_connections_of(user_id).await?;
    let full = |read: usize| read >= usize::try_from(PAGE).unwrap_or(usize::MAX);
    // Their events, with their sessions (also those whose deletion began).
    loop {
        let events = store.event_ids_owned_by(user_id, PAGE).await?;
        for event_id in &events {
            deletion::delete_event(app, event_id).await?;
        }
        run.count("events", events.len() as u64).await?;
        if !full(events.len()) || !run.hold().await? {
            break;
        }
    }
    // Their other sessions.
    loop {
        let sessions = store
            .sessions_naming(user_id, NamedAs::Owner, None, PAGE)
            .await?;
        let mut deleted = 0;
        for session in &sessions {
            if store.delete_session(&session.id).await? {
                deleted += 1;
                let mut change = SessionChange::deleted(session);
                change.deleted_for.retain(|audience| audience != user_id);
                app.pushes.publish(change).await;
            }
        }
        run.count("sessions", deleted).await?;
        if !full(sessions.len()) || !run.hold().await? {
            break;
        }
    }
    // Every other session that names them; the seats they free go to the waitlists.
    for named in [
        NamedAs::Invitee,
        NamedAs::Participant,
        NamedAs::Decliner,
        NamedAs::Waiting,
    ] {
        loop {
            let sessions = store.sessions_naming(user_id, named, None, PAGE).await?;
            let mut left = 0;
            for session in &sessions {
                if session.has_joined(user_id) {
                    store.note_freed_seat(id, &session.id).await?;
                }
                if let Some(changed) = store
                    .remove_person(&session.id, user_id, Timestamp::now())
                    .await?
                {
                    left += 1;
                    app.pushes.publish(SessionChange::updated(&changed)).await;
                }
            }
            run.count("sessionsLeft", left).await?;
            if !full(sessions.len()) || !run.hold().await? {
                break;
            }
        }
    }
    let Some(record) = store.erasure(id).await? else {
        return Ok(());
    };
    for session_id in &record.freed {
        waitlist::fill_free_seats_of(app, session_id).await?;
    }
    run.count(
        "pendingInvitations",
        store.remove_pending_contacts(&record.contact_keys).await?,
    )
    .await?;
    // Connections opened since the first close, then what they may have left.
    app.pushes.close_connections_of(user_id).await?;
    let counts = store
        .erase_records_of(user_id, &record.contact_keys)
        .await?;
    store.count_erased(id, &counts).await?;
    if run.hold().await? {
        store
            .finish_erasure(id, &run.runner, Timestamp::now())
            .await?;
        tracing::info!(erasure = %id, "a user's data was erased");
    }
    Ok(())
}

/// Finishes every erasure that began and that no run holds (its process stopped); answers
/// how many it finished.
pub async fn finish_interrupted_erasures(app: &AppState) -> StoreResult<usize> {
    let mut finished = 0;
    for record in app.store.stalled_erasures(Timestamp::now()).await? {
        let Some(user_id) = &record.user_id else {
            continue;
        };
        match run(app, &record.id, user_id).await {
            Ok(()) => finished += 1,
            Err(error) => tracing::warn!(%error, "cannot finish an interrupted erasure"),
        }
    }
    Ok(finished)
}

/// Every [`SWEEP_INTERVAL`], finishes erasures another process began and left.
pub async fn sweep_interrupted_erasures(app: Arc<AppState>, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
    ticks.tick().await;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = finish_interrupted_erasures(&app).await {
            tracing::warn!(%error, "cannot look for interrupted erasures");
        }
    }
}
