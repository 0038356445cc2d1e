//! Sending reminders before sessions start (`domain::reminder`): `social:sessionStarting`
//! to every participant once per occurrence, however many processes serve.
//!
//! How a reminder goes out once:
//! - it is first claimed in `reminderClaims` (its key follows from the person, the session
//!   and the occurrence's original and actual start): of two processes that claim it, one
//!   does; the claim is kept until a day past the start;
//! - then its push is written, under an id that follows from the same key (so that a
//!   second write of it is refused while pushes are kept), delivered to every connection
//!   of the person and replayed to a client that resumes after missing it, like any push;
//!   then the claim is marked sent;
//! - a claim left unsent for [`PENDING_FOR`] (its sender stopped between the two writes)
//!   is sent by the next look that meets it.
//!
//! When reminders are looked for:
//! - the scan: one process at a time holds it (a lease in `reminderScan`, taken over when
//!   its holder stops renewing it) and every tick looks at the stretch of time since the
//!   last scan ended (a few seconds more, for processes whose clocks differ) — sessions
//!   whose next occurrence not begun (`upcomingStart`) starts within it shifted by each
//!   lead time in use — so each reminder falls due in a scan, also across processes and
//!   restarts; with their lead times read afresh. It also looks again at sessions written
//!   since the last scan (what a look at a written session missed), and works out again
//!   the next occurrence of sessions whose stored one has begun;
//! - a session this process writes (created, joined, invited, moved) is looked at at once:
//!   a reminder whose time is past but whose occurrence has not begun goes out now;
//! - a user who sets a lead time: their sessions whose reminder is due by it go out now.
//!
//! An occurrence that follows the previous one more closely than a lead time is reminded
//! of when the previous one begins (the next occurrence is worked out then).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::domain::ids::new_id;
use crate::domain::reminder::{
    DEFAULT_LEAD_MINUTES, EARLY, MAX_LEAD_MINUTES, ReminderSetting, SessionStarting, Upcoming,
    lead, participants,
};
use crate::domain::session::Session;
use crate::domain::time::Timestamp;
use crate::push::Pushes;
use crate::store::pushes::{PushDocument, ReminderPush};
use crate::store::reminders::{Claim, ReminderClaim};
use crate::store::{Store, StoreResult};

/// Sessions one page of the scan reads.
const SCAN_PAGE: i64 = 200;
/// Sessions whose next occurrence is worked out again per tick.
const LOOK_AHEAD_BATCH: i64 = 500;
/// Sessions looked at at the same time.
const LOOKED_AT_ONCE: usize = 8;
/// Most reminders this process remembers having looked at; past it, it forgets them all
/// (the claims in the database still hold).
const MAX_REMEMBERED: usize = 200_000;
/// Most sessions of a user looked at when they set a lead time, the soonest first.
const MAX_SESSIONS_OF_USER: i64 = 1000;
/// How far back each scan starts before the last one ended: processes' clocks may differ
/// by this much (a reminder met twice is sent once).
const OVERLAP_MILLIS: i64 = 5_000;
/// How long a claim may stay unsent before another look sends its reminder.
const PENDING_FOR_MILLIS: i64 = 30_000;

/// What this process knows of one reminder (by its key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    /// Looked at and not due before this time (milliseconds; `i64::MAX`: reminders off).
    NotDueBefore(i64),
    /// Sent, here or by another process.
    Sent,
}

/// Why a session is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    /// Found by the scan: every participant not yet reminded, their lead times as stored
    /// now.
    Scan,
    /// Written here: participants this process found not due are left out until their
    /// time as it knew it (a join looks at the one who joined); the next scan looks at
    /// the session again with the lead times as they are then.
    Written,
}

/// One reminder to send.
struct Due {
    key: String,
    user_id: String,
    starting: Arc<SessionStarting>,
    start: Timestamp,
}

/// The reminders of one process.
pub struct Reminders {
    store: Store,
    pushes: Arc<Pushes>,
    /// This process, as the holder of the scan.
    holder: String,
    known: Mutex<HashMap<String, Known>>,
    /// Whether this process worked out the next occurrence of sessions written before it
    /// was kept (once per start).
    backfilled: AtomicBool,
    /// The longest lead time anyone chose (or the default), and when it was read: a
    /// session written here that starts later than that from now needs no look.
    longest_lead: Mutex<Option<(u16, std::time::Instant)>>,
}

/// How long the longest lead time in use is taken as known: a longer one chosen meanwhile
/// on another process is met by that process's own look (`user_set`) and the next scan.
const LONGEST_LEAD_KEPT: Duration = Duration::from_secs(10);

impl Reminders {
    /// Starts the scan (every `tick`) and the looks at sessions this process writes.
    pub fn start(
        store: Store,
        pushes: Arc<Pushes>,
        tick: Duration,
        shutdown: CancellationToken,
    ) -> Arc<Reminders> {
        let news = pushes.written_sessions();
        let reminders = Arc::new(Reminders {
            store,
            pushes,
            holder: new_id(),
            known: Mutex::default(),
            backfilled: AtomicBool::new(false),
            longest_lead: Mutex::default(),
        });
        tokio::spawn(Arc::clone(&reminders).scan_every(tick, shutdown.clone()));
        tokio::spawn(Arc::clone(&reminders).look_at_written(news, shutdown));
        reminders
    }

    /// Sends the reminders of `user_id` due by their new lead time now (sessions starting
    /// within it that have not begun, the soonest first): their own only, in four calls
    /// whatever the number of sessions.
    pub async fn user_set(&self, user_id: &str, setting: ReminderSetting) -> StoreResult<()> {
        let Some(minutes) = setting.minutes() else {
            return Ok(());
        };
        let now = Timestamp::now();
        let until = shifted(now, lead(minutes) + EARLY);
        let sessions = self
            .store
            .sessions_of_starting_within(user_id, now, until, MAX_SESSIONS_OF_USER)
            .await?;
        let due: Vec<Due> = sessions
            .iter()
            .filter(|session| session.is_valid)
            .filter(|session| participants(session).iter().any(|id| id == user_id))
            .filter_map(|session| {
                let upcoming = Upcoming::of(session, now.to_chrono())?;
                setting
                    .is_due(upcoming.start, now.to_chrono())
                    .then(|| Due {
                        key: upcoming.reminder_key(&session.id, user_id),
                        user_id: user_id.to_owned(),
                        starting: Arc::new(SessionStarting::of(session, &upcoming)),
                        start: upcoming.start_timestamp(),
                    })
            })
            .collect();
        self.send(due, now).await
    }

    /// Sends the reminders of `session`'s next occurrence due at `now` and not yet sent.
    async fn remind_due(&self, session: &Session, now: Timestamp, look: Look) -> StoreResult<()> {
        if !session.is_valid {
            return Ok(());
        }
        let Some(upcoming) = Upcoming::of(session, now.to_chrono()) else {
            return Ok(());
        };
        if !upcoming.is_near(now.to_chrono()) {
            return Ok(());
        }
        // A write of a session that starts later than any lead time needs no reads.
        if look == Look::Written {
            let longest = self.longest_lead().await?;
            if upcoming.start - lead(longest) - EARLY > now.to_chrono() {
                return Ok(());
            }
        }
        let keyed: Vec<(String, String)> = participants(session)
            .into_iter()
            .map(|user_id| (upcoming.reminder_key(&session.id, &user_id), user_id))
            .collect();
        let unknown: Vec<(String, String)> = {
            let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
            keyed
                .into_iter()
                .filter(|(key, _)| match (look, known.get(key)) {
                    (_, Some(Known::Sent)) => false,
                    (Look::Written, Some(Known::NotDueBefore(due))) => *due <= now.millis(),
                    (_, _) => true,
                })
                .collect()
        };
        if unknown.is_empty() {
            return Ok(());
        }
        let users: Vec<String> = unknown.iter().map(|(_, user_id)| user_id.clone()).collect();
        let settings = self.store.reminder_settings_of(&users).await?;
        let starting = Arc::new(SessionStarting::of(session, &upcoming));
        let mut due = Vec::new();
        let mut not_due = Vec::new();
        for (key, user_id) in unknown {
            let setting = settings.get(&user_id).copied().unwrap_or_default();
            if setting.is_due(upcoming.start, now.to_chrono()) {
                due.push(Due {
                    key,
                    user_id,
                    starting: Arc::clone(&starting),
                    start: upcoming.start_timestamp(),
                });
            } else {
                let due_at = setting
                    .due_at(upcoming.start)
                    .map_or(i64::MAX, |due| due.timestamp_millis());
                not_due.push((key, Known::NotDueBefore(due_at)));
            }
        }
        self.note(not_due);
        self.send(due, now).await
    }

    /// Sends `due`: claims each reminder, writes the pushes of those this call claimed (and
    /// of claims left unsent too long), then marks them sent.
    async fn send(&self, due: Vec<Due>, now: Timestamp) -> StoreResult<()> {
        if due.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = due.iter().map(|due| due.key.clone()).collect();
        let claims = self.store.reminder_claims_of(&keys).await?;
        self.note(
            claims
                .iter()
                .filter(|(_, claim)| **claim == Claim::Sent)
                .map(|(key, _)| (key.clone(), Known::Sent)),
        );
        let stalled_before = now.millis() - PENDING_FOR_MILLIS;
        let (unclaimed, claimed): (Vec<Due>, Vec<Due>) = due
            .into_iter()
            .partition(|due| !claims.contains_key(&due.key));
        // Claimed before and never sent: its sender stopped between its two writes.
        let stalled = claimed.into_iter().filter(|due| {
            matches!(claims.get(&due.key), Some(Claim::Pending(at)) if at.millis() < stalled_before)
        });
        let to_claim: Vec<ReminderClaim> = unclaimed
            .iter()
            .map(|due| ReminderClaim {
                key: due.key.clone(),
                start: due.start,
            })
            .collect();
        let won = self.store.claim_reminders(&to_claim, now).await?;
        let sending: Vec<Due> = unclaimed
            .into_iter()
            .filter(|due| won.contains(&due.key))
            .chain(stalled)
            .collect();
        if sending.is_empty() {
            return Ok(());
        }
        let pushes = sending
            .iter()
            .map(|due| {
                PushDocument::reminding(
                    format!("reminder-{}", due.key),
                    ReminderPush {
                        user_id: due.user_id.clone(),
                        starting: (*due.starting).clone(),
                    },
                )
            })
            .collect();
        self.pushes.remind(pushes).await?;
        let keys: Vec<String> = sending.iter().map(|due| due.key.clone()).collect();
        self.store.mark_reminders_sent(&keys).await?;
        crate::metrics::reminders_sent(keys.len());
        tracing::debug!(reminded = keys.len(), "sent reminders");
        self.note(keys.into_iter().map(|key| (key, Known::Sent)));
        Ok(())
    }

    /// The longest lead time anyone chose, or the default: read at most every
    /// [`LONGEST_LEAD_KEPT`].
    async fn longest_lead(&self) -> StoreResult<u16> {
        let known = *self
            .longest_lead
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((minutes, read)) = known
            && read.elapsed() < LONGEST_LEAD_KEPT
        {
            return Ok(minutes);
        }
        let chosen = self.store.chosen_lead_minutes().await?;
        let longest = chosen
            .into_iter()
            .max()
            .unwrap_or(DEFAULT_LEAD_MINUTES)
            .max(DEFAULT_LEAD_MINUTES);
        *self
            .longest_lead
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((longest, std::time::Instant::now()));
        Ok(longest)
    }

    /// Remembers what is known of reminders.
    fn note(&self, facts: impl IntoIterator<Item = (String, Known)>) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, what) in facts {
            if known.len() >= MAX_REMEMBERED {
                known.clear();
            }
            known.insert(key, what);
        }
    }

    /// Looks at each session this process writes, as its write answered.
    async fn look_at_written(
        self: Arc<Self>,
        mut news: broadcast::Receiver<Arc<Session>>,
        shutdown: CancellationToken,
    ) {
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return,
                received = news.recv() => received,
            };
            match received {
                Ok(session) => {
                    if let Err(error) = self
                        .remind_due(&session, Timestamp::now(), Look::Written)
                        .await
                    {
                        tracing::warn!(%error, session = %session.id, "cannot send reminders");
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => tracing::warn!(
                    missed,
                    "sessions written faster than their reminders were looked at: the next \
                     scan looks at them"
                ),
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Scans every `tick` while this process holds the scan.
    async fn scan_every(self: Arc<Self>, tick: Duration, shutdown: CancellationToken) {
        // Another process takes the scan over when this one stops renewing it this long.
        let lease = (tick * 5).max(Duration::from_secs(5));
        let mut ticks = tokio::time::interval(tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            if let Err(error) = self.scan(lease).await {
                tracing::warn!(%error, "cannot scan for reminders; trying again");
            }
        }
    }

    /// One scan, when this process holds it: works out the next occurrence of sessions
    /// whose stored one began, then sends the reminders that fell due since the last scan
    /// and those of sessions written since.
    async fn scan(&self, lease: Duration) -> StoreResult<()> {
        let now = Timestamp::now();
        let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let Some(through) = self
            .store
            .take_reminder_scan(&self.holder, now, shifted(now, lease))
            .await?
        else {
            return Ok(());
        };
        self.look_ahead(now).await?;
        // Reminders of occurrences that began are not sent: a day back at most.
        let longest = lead(MAX_LEAD_MINUTES) + EARLY;
        let from = through
            .map_or(now, |through| {
                Timestamp::saturating_from_millis(through.millis() - OVERLAP_MILLIS)
            })
            .max(shifted(now, -longest));
        if from < now {
            let mut minutes = self.store.chosen_lead_minutes().await?;
            minutes.push(DEFAULT_LEAD_MINUTES);
            minutes.sort_unstable();
            minutes.dedup();
            let ranges: Vec<(Timestamp, Timestamp)> = minutes
                .iter()
                .map(|minutes| {
                    let ahead = lead(*minutes) + EARLY;
                    (shifted(from, ahead), shifted(now, ahead))
                })
                .collect();
            let mut after = None;
            loop {
                let page = self
                    .store
                    .sessions_starting_within(&ranges, after.as_ref(), SCAN_PAGE)
                    .await?;
                self.remind_all(&page, now, Look::Scan).await?;
                if !is_full(&page) {
                    break;
                }
                after = page.last().map(|session| session.id.clone());
            }
            // Sessions written since that start within the longest lead time in use: the
            // others owe nobody a reminder yet (and the window above meets them in time).
            let longest_in_use = minutes.last().copied().unwrap_or(DEFAULT_LEAD_MINUTES);
            let near = (now, shifted(now, lead(longest_in_use) + EARLY));
            let mut after = None;
            loop {
                let page = self
                    .store
                    .sessions_written_since(from, near, after.as_ref(), SCAN_PAGE)
                    .await?;
                // Lead times read afresh: one may have changed on another process.
                self.remind_all(&page, now, Look::Scan).await?;
                if !is_full(&page) {
                    break;
                }
                after = page.last().map(|session| session.id.clone());
            }
        }
        self.store.advance_reminder_scan(&self.holder, now).await
    }

    /// Sends the reminders of `sessions` due at `now`, a few sessions at a time.
    async fn remind_all(
        &self,
        sessions: &[Session],
        now: Timestamp,
        look: Look,
    ) -> StoreResult<()> {
        let looks: Vec<_> = sessions
            .iter()
            .map(|session| self.remind_due(session, now, look))
            .collect();
        let results: Vec<StoreResult<()>> = futures_util::stream::iter(looks)
            .buffer_unordered(LOOKED_AT_ONCE)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Works out again the next occurrence of sessions whose stored one has begun (and,
    /// once per start of this process, of those written before it was kept), and sends
    /// what is due of the new one at once (it may follow closer than a lead time).
    async fn look_ahead(&self, now: Timestamp) -> StoreResult<()> {
        let mut sessions = self
            .store
            .sessions_to_look_ahead(now, LOOK_AHEAD_BATCH)
            .await?;
        if !self.backfilled.load(Ordering::Relaxed) {
            let unknown = self
                .store
                .sessions_without_upcoming(LOOK_AHEAD_BATCH)
                .await?;
            if unknown.is_empty() {
                self.backfilled.store(true, Ordering::Relaxed);
            }
            sessions.extend(unknown);
        }
        if sessions.is_empty() {
            return Ok(());
        }
        // Walking a long recurrence is CPU work: keep it off the async workers.
        let worked_out = tokio::task::spawn_blocking(move || {
            sessions
                .into_iter()
                .map(|session| {
                    let start = Upcoming::start_of(&session, now);
                    (session, start)
                })
                .collect::<Vec<_>>()
        })
        .await;
        let Ok(worked_out) = worked_out else {
            tracing::warn!("cannot work out the next occurrences of sessions");
            return Ok(());
        };
        for (session, start) in &worked_out {
            self.store.keep_upcoming_start(session, *start).await?;
        }
        let sessions: Vec<Session> = worked_out
            .into_iter()
            .filter(|(_, start)| start.is_some())
            .map(|(session, _)| session)
            .collect();
        self.remind_all(&sessions, now, Look::Scan).await
    }
}

/// `instant` moved by `by`.
fn shifted(instant: Timestamp, by: chrono::Duration) -> Timestamp {
    Timestamp::saturating_from_millis(instant.millis().saturating_add(by.num_milliseconds()))
}

/// Whether a page of the scan came back full (more may follow).
fn is_full(page: &[Session]) -> bool {
    page.len() >= usize::try_from(SCAN_PAGE).unwrap_or(usize::MAX)
}
