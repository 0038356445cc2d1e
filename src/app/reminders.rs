//! Sending reminders before sessions start (`domain::reminder`): `social:sessionStarting`
//! to every participant once per occurrence, however many processes serve.
//!
//! How a reminder goes out once:
//! - it is a push whose id follows from the user and the occurrence (its original start
//!   and the start it takes place at): of two processes that send it, one writes it, and
//!   it is delivered once, to every connection of the user, and replayed to a client that
//!   resumes after missing it, like any push;
//! - once written, a claim with the same key is kept in `reminderClaims` until a day past
//!   the start (pushes are kept ten minutes): a later look finds it and sends nothing.
//!   Claimed after its push, so a process that dies between the two leaves a push whose
//!   id the next look meets.
//!
//! When reminders are looked for:
//! - the scan: one process at a time holds it (a lease in `reminderScan`, taken over when
//!   its holder stops renewing it) and every tick looks at the stretch of time since the
//!   last scan ended — sessions whose next occurrence (`upcomingStart`) starts within it
//!   shifted by each lead time in use — so each reminder falls due in exactly one scan,
//!   also across processes and restarts; it also works out again the next occurrence of
//!   sessions whose stored one has begun;
//! - a session this process writes (created, joined, invited, moved) is looked at at once:
//!   a reminder whose time is past but whose occurrence has not begun goes out now;
//! - a user who sets a lead time: their sessions whose reminder is due by it go out now.
//!
//! An occurrence that follows the previous one more closely than a lead time is reminded
//! of when the previous one begins (the next occurrence is worked out then).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::domain::ids::new_id;
use crate::domain::reminder::{
    DEFAULT_LEAD_MINUTES, MAX_LEAD_MINUTES, ReminderSetting, SessionStarting, Upcoming, lead,
    participants,
};
use crate::domain::session::Session;
use crate::domain::time::Timestamp;
use crate::push::Pushes;
use crate::store::pushes::{PushDocument, ReminderPush};
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
/// Most sessions of a user looked at when they set a lead time.
const MAX_SESSIONS_OF_USER: i64 = 1000;

/// What this process knows of one reminder (by its key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    /// Looked at: sent, or not due then (the scan sends it when it falls due).
    Looked,
    /// Sent, here or by another process.
    Sent,
}

/// Why a session is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    /// The scan found it: every participant not yet reminded, their lead times as stored.
    Scan,
    /// This process wrote it: only participants not looked at before for this occurrence
    /// (a join looks at the one who joined).
    Written,
}

/// The reminders of one process.
pub struct Reminders {
    store: Store,
    pushes: Arc<Pushes>,
    /// This process, as the holder of the scan.
    holder: String,
    known: Mutex<HashMap<String, Known>>,
}

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
        });
        tokio::spawn(Arc::clone(&reminders).scan_every(tick, shutdown.clone()));
        tokio::spawn(Arc::clone(&reminders).look_at_written(news, shutdown));
        reminders
    }

    /// Sends the reminders of `user_id` due by their new lead time now (sessions starting
    /// within it that have not begun).
    pub async fn user_set(&self, user_id: &str, setting: ReminderSetting) -> StoreResult<()> {
        let Some(minutes) = setting.minutes() else {
            return Ok(());
        };
        let now = Timestamp::now();
        let until =
            Timestamp::saturating_from_millis(now.millis() + lead(minutes).num_milliseconds());
        let sessions = self
            .store
            .sessions_of_starting_within(user_id, now, until, MAX_SESSIONS_OF_USER)
            .await?;
        for session in sessions {
            self.remind_due(&session, now, Look::Scan).await?;
        }
        Ok(())
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
        let unknown: Vec<(String, String)> = {
            let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
            participants(session)
                .into_iter()
                .map(|user_id| (upcoming.reminder_key(&session.id, &user_id), user_id))
                .filter(|(key, _)| match (look, known.get(key)) {
                    (_, Some(Known::Sent)) | (Look::Written, Some(Known::Looked)) => false,
                    (_, _) => true,
                })
                .collect()
        };
        if unknown.is_empty() {
            return Ok(());
        }
        let users: Vec<String> = unknown.iter().map(|(_, user_id)| user_id.clone()).collect();
        let settings = self.store.reminder_settings_of(&users).await?;
        let (due, not_due): (Vec<_>, Vec<_>) = unknown.into_iter().partition(|(_, user_id)| {
            settings
                .get(user_id)
                .copied()
                .unwrap_or_default()
                .is_due(upcoming.start, now.to_chrono())
        });
        self.note(not_due.iter().map(|(key, _)| key), Known::Looked);
        if due.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = due.iter().map(|(key, _)| key.clone()).collect();
        let sent = self.store.claimed_reminders(&keys).await?;
        self.note(sent.iter(), Known::Sent);
        let due: Vec<(String, String)> = due
            .into_iter()
            .filter(|(key, _)| !sent.contains(key))
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let starting = SessionStarting::of(session, &upcoming);
        let pushes = due
            .iter()
            .map(|(key, user_id)| {
                PushDocument::reminding(
                    format!("reminder-{key}"),
                    ReminderPush {
                        user_id: user_id.clone(),
                        starting: starting.clone(),
                    },
                )
            })
            .collect();
        self.pushes.remind(pushes).await?;
        let keys: Vec<String> = due.iter().map(|(key, _)| key.clone()).collect();
        self.store
            .claim_reminders(&keys, upcoming.start_timestamp())
            .await?;
        self.note(keys.iter(), Known::Sent);
        crate::metrics::reminders_sent(keys.len());
        tracing::debug!(session = %session.id, reminded = keys.len(), "sent reminders");
        Ok(())
    }

    /// Remembers what is known of the reminders `keys`.
    fn note<'a>(&self, keys: impl Iterator<Item = &'a String>, what: Known) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if known.len() >= MAX_REMEMBERED {
            known.clear();
        }
        for key in keys {
            known.insert(key.clone(), what);
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
                    "sessions written faster than their reminders were looked at: those due \
                     at once among them may be late"
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
    /// whose stored one began, then sends the reminders that fell due since the last scan.
    async fn scan(&self, lease: Duration) -> StoreResult<()> {
        let now = Timestamp::now();
        let lease_millis = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let until = Timestamp::saturating_from_millis(now.millis().saturating_add(lease_millis));
        let Some(through) = self
            .store
            .take_reminder_scan(&self.holder, now, until)
            .await?
        else {
            return Ok(());
        };
        self.look_ahead(now).await?;
        // Reminders of occurrences that began are not sent: a day back at most.
        let longest = lead(MAX_LEAD_MINUTES).num_milliseconds();
        let from = through
            .unwrap_or(now)
            .max(Timestamp::saturating_from_millis(now.millis() - longest));
        if from < now {
            let mut minutes = self.store.chosen_lead_minutes().await?;
            minutes.push(DEFAULT_LEAD_MINUTES);
            minutes.sort_unstable();
            minutes.dedup();
            let shifted = |instant: Timestamp, minutes: u16| {
                Timestamp::saturating_from_millis(
                    instant.millis() + lead(minutes).num_milliseconds(),
                )
            };
            let ranges: Vec<(Timestamp, Timestamp)> = minutes
                .iter()
                .map(|minutes| (shifted(from, *minutes), shifted(now, *minutes)))
                .collect();
            let mut after = None;
            loop {
                let page = self
                    .store
                    .sessions_starting_within(&ranges, after.as_ref(), SCAN_PAGE)
                    .await?;
                self.remind_all(&page, now).await?;
                if page.len() < usize::try_from(SCAN_PAGE).unwrap_or(usize::MAX) {
                    break;
                }
                after = page.last().map(|session| session.id.clone());
            }
        }
        self.store.advance_reminder_scan(&self.holder, now).await
    }

    /// Sends the reminders of `sessions` due at `now`, a few sessions at a time.
    async fn remind_all(&self, sessions: &[Session], now: Timestamp) -> StoreResult<()> {
        let looks: Vec<_> = sessions
            .iter()
            .map(|session| self.remind_due(session, now, Look::Scan))
            .collect();
        let results: Vec<StoreResult<()>> = futures_util::stream::iter(looks)
            .buffer_unordered(LOOKED_AT_ONCE)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Works out again the next occurrence of sessions whose stored one has begun (or is
    /// unknown), and sends what is due of the new one at once (it may follow closer than
    /// a lead time).
    async fn look_ahead(&self, now: Timestamp) -> StoreResult<()> {
        let sessions = self
            .store
            .sessions_to_look_ahead(now, LOOK_AHEAD_BATCH)
            .await?;
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
        self.remind_all(&sessions, now).await
    }
}
