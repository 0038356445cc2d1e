//! The live prop board of one connection (`social:watchProp`, `social:unwatchProp`): up
//! to [`MAX_WATCHED_PROPS`] props, each watched by a task of its own that pushes
//! `social:propSessionsUpdated` whenever what the user sees there
//! (`prop_board::sessions`) changes.
//!
//! A watch looks again when a change at its prop is pushed, from any process (see
//! `push::board`), when its user's memberships are added or changed, when a listed
//! session starts or ends, and at the latest every [`RECHECK_EVERY`] (for what the
//! database reports without naming the user: memberships removed, profiles), but
//! not twice within [`MIN_LOOK_INTERVAL`] (a burst of changes is looked at together, so
//! that however fast a prop changes, a watch costs at most two looks a second); it
//! pushes only when the rendered answer differs from the last one the connection got.
//! Its pushes wait until the `watchProp` answer is queued, so none overtakes it. A failed
//! look is retried after a growing pause (1 s up to a minute), keeping the last answer.
//! The watches of one user at one prop (from several connections) share their looks
//! (`prop_board::looks`).
//!
//! The pushes carry an `event.id` from the same sequence as session pushes; only that the
//! user was sent it is kept (`propPushes`), so that a client may resume after it. The
//! watches end with the connection: a client that reconnects watches again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::looks::{LookSlot, look};
use super::sessions::{PropSessions, PropView, prop_sessions};
use crate::app::state::AppState;
use crate::domain::ids::UserId;
use crate::domain::session::Prop;
use crate::domain::session::view::SessionView;
use crate::error::ApiError;
use crate::push::Outlet;
use crate::push::board::{MAX_WATCHES_PER_USER, PropWatcher};

/// Endpoint name of the push of a watched prop's new sessions.
pub const PROP_SESSIONS_UPDATED: &str = "social:propSessionsUpdated";
/// Most props one connection watches at once.
pub const MAX_WATCHED_PROPS: usize = 16;
/// Shortest time between two looks at a watched prop.
const MIN_LOOK_INTERVAL: Duration = Duration::from_millis(500);
/// Longest time between two looks at a watched prop.
const RECHECK_EVERY: Duration = Duration::from_secs(3600);
/// Pause after the first failed look; it doubles with each further one.
const FIRST_RETRY_PAUSE: Duration = Duration::from_secs(1);
/// Longest pause between failed looks.
const LONGEST_RETRY_PAUSE: Duration = Duration::from_secs(60);
/// Time after a listed session's start or end before looking: stored times are whole
/// milliseconds.
const BOUNDARY_MARGIN: Duration = Duration::from_millis(5);

/// The `data` of a `social:propSessionsUpdated` push.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PropSessionsUpdated<'a> {
    pub room_id: &'a str,
    pub prop_id: &'a str,
    /// What `social:getPropSessions` answers the recipient at this prop now.
    pub sessions: &'a [SessionView],
}

/// The props one connection watches.
pub struct PropWatches {
    outlet: Outlet,
    watching: Mutex<Watching>,
}

/// A running watch: dropping it stops the watch, and no push of it is queued after that.
struct WatchHandle {
    /// Held while a push is queued; `false` once the watch stopped.
    active: Arc<Mutex<bool>>,
    _task: AbortOnDropHandle<()>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        // The task may be queuing a push on another thread right now: waiting for the
        // lock means it is queued before the stop, or not at all.
        *lock(&self.active) = false;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Neither value can be left half-changed by a panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One watch: what its task needs.
struct Watch {
    state: Arc<AppState>,
    user_id: UserId,
    watcher: PropWatcher,
    outlet: Outlet,
    /// Whether the watch still runs (see [`WatchHandle`]).
    active: Arc<Mutex<bool>>,
    /// The looks shared with the user's other watches of this prop.
    looks: Arc<LookSlot>,
    /// The `data` of the last answer or push the connection got for this prop.
    last: Box<RawValue>,
    next_change: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a connection watches, and the `watchProp` requests still looking.
#[derive(Default)]
struct Watching {
    running: HashMap<Prop, WatchHandle>,
    /// The latest `watchProp` of each prop still looking, by its token: an `unwatchProp`
    /// (or a newer `watchProp`) meanwhile takes its place away, and it starts no watch.
    looking: HashMap<Prop, u64>,
    next_token: u64,
}

impl Watching {
    fn check_room_for(&self, prop: &Prop) -> Result<(), ApiError> {
        if self.running.contains_key(prop) || self.running.len() < MAX_WATCHED_PROPS {
            Ok(())
        } else {
            Err(quota_exceeded())
        }
    }

    /// Whether the `watchProp` of `prop` with `token` is still the one to start, and no
    /// longer looking.
    fn take_turn(&mut self, prop: &Prop, token: u64) -> bool {
        if self.looking.get(prop) == Some(&token) {
            self.looking.remove(prop);
            true
        } else {
            false
        }
    }
}

impl PropWatches {
    /// No watches yet; their pushes go to `outlet`.
    pub fn new(outlet: Outlet) -> PropWatches {
        PropWatches {
            outlet,
            watching: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Watching> {
        lock(&self.watching)
    }

    /// Starts watching `prop` for `user_id` (again, when already watched: the answer
    /// is then the new starting point) and answers what they see there now; the watch's
    /// pushes wait for `answer_queued`. A 17th prop is a quota refusal. An `unwatchProp`
    /// of the prop that arrives while this still looks wins: the answer comes, the watch
    /// does not start.
    pub async fn watch(
        &self,
        state: &Arc<AppState>,
        user_id: &UserId,
        prop: Prop,
        answer_queued: &CancellationToken,
    ) -> Result<PropSessions, ApiError> {
        let token = {
            let mut watching = self.lock();
            watching.check_room_for(&prop)?;
            // Watched again: the new watch replaces it (its answer is the new starting
            // point), and counts once among the user's watches.
            watching.running.remove(&prop);
            watching.next_token += 1;
            let token = watching.next_token;
            watching.looking.insert(prop.clone(), token);
            token
        };
        // Registered before looking, so that no change falls between the look and the watch.
        let Some(watcher) = state.pushes.board().watch(prop.clone(), user_id) else {
            self.lock().take_turn(&prop, token);
            return Err(ApiError::QuotaExceeded(format!(
                "watch quota exceeded: at most {MAX_WATCHES_PER_USER} props are watched per \
                 user on one server process, over all of their connections; unwatch one \
                 first (social:unwatchProp)"
            )));
        };
        let looked = prop_sessions(&state.store, user_id, &prop).await;
        let mut watching = self.lock();
        if !watching.take_turn(&prop, token) {
            return looked.map(|view| view.answer);
        }
        let PropView {
            answer,
            next_change,
        } = looked?;
        watching.check_room_for(&prop)?;
        let active = Arc::new(Mutex::new(true));
        let looks = state.looks.slot(user_id, &prop);
        let watch = Watch {
            state: Arc::clone(state),
            user_id: user_id.clone(),
            looks,
            watcher,
            outlet: self.outlet.clone(),
            active: Arc::clone(&active),
            last: data_of(&prop, &answer.sessions)?,
            next_change,
        };
        let task = AbortOnDropHandle::new(tokio::spawn(watch.run(answer_queued.clone())));
        // A watch of the same prop that this one replaces stops.
        watching.running.insert(
            prop,
            WatchHandle {
                active,
                _task: task,
            },
        );
        Ok(answer)
    }

    /// Stops watching `prop` (also a `watchProp` of it still looking); answers whether it
    /// was watched.
    pub fn unwatch(&self, prop: &Prop) -> bool {
        let mut watching = self.lock();
        watching.looking.remove(prop);
        watching.running.remove(prop).is_some()
    }

    /// Stops every watch (the connection closes).
    pub fn stop_all(&self) {
        let mut watching = self.lock();
        watching.looking.clear();
        watching.running.clear();
    }
}

fn quota_exceeded() -> ApiError {
    ApiError::QuotaExceeded(format!(
        "watch quota exceeded: at most {MAX_WATCHED_PROPS} props are watched per connection; \
         unwatch one first (social:unwatchProp)"
    ))
}

/// The wait at `now` until an answer whose next change by time alone is `next_change` is
/// looked at again: just after that change, and within [`RECHECK_EVERY`] in any case.
fn wait_for(
    next_change: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Duration {
    let Some(at) = next_change else {
        return RECHECK_EVERY;
    };
    // Already passed (a negative time left): look at once.
    let left = (at - now).to_std().unwrap_or_default();
    (left + BOUNDARY_MARGIN).min(RECHECK_EVERY)
}

/// The `data` of a push of `sessions` at `prop`, rendered.
fn data_of(prop: &Prop, sessions: &[SessionView]) -> Result<Box<RawValue>, ApiError> {
    let data = PropSessionsUpdated {
        room_id: &prop.room_id,
        prop_id: &prop.prop_id,
        sessions,
    };
    serde_json::value::to_raw_value(&data).map_err(|error| ApiError::Unexpected(error.into()))
}

impl Watch {
    /// Looks again at each change, start or end, until the connection closes or the task
    /// is aborted; the first look waits until the `watchProp` answer is queued.
    async fn run(mut self, answer_queued: CancellationToken) {
        answer_queued.cancelled().await;
        let mut retry_pause: Option<Duration> = None;
        // The `watchProp` answer was the first look.
        let mut last_look = tokio::time::Instant::now();
        while !self.outlet.is_closed() {
            let wait = retry_pause.unwrap_or_else(|| self.time_to_next_change());
            let changed = tokio::select! {
                () = self.watcher.changed() => true,
                () = tokio::time::sleep(wait) => false,
            };
            // Changes in quick succession are looked at together: however fast a prop
            // changes, each watch costs at most one look per interval.
            tokio::time::sleep_until(last_look + MIN_LOOK_INTERVAL).await;
            // What changed until now, this look sees: only later changes wake it again.
            self.watcher.settle();
            last_look = tokio::time::Instant::now();
            // A look that began after the last change covers it; one for the time that
            // passed must begin now.
            let covering_from = if changed {
                self.watcher.last_woken()
            } else {
                last_look
            };
            let looked = look(
                &self.state.store,
                &self.looks,
                &self.user_id,
                self.watcher.prop(),
                covering_from,
            )
            .await;
            match looked {
                Ok(view) => {
                    retry_pause = None;
                    self.next_change = view.next_change;
                    if !self.push_if_changed(&view.answer).await {
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, user = ?self.user_id.as_str(), "cannot look at a watched prop");
                    retry_pause = Some(retry_pause.map_or(FIRST_RETRY_PAUSE, |pause| {
                        (pause * 2).min(LONGEST_RETRY_PAUSE)
                    }));
                }
            }
        }
    }

    fn time_to_next_change(&self) -> Duration {
        wait_for(self.next_change, chrono::Utc::now())
    }

    /// Pushes `answer` when it differs from the last one the connection got; `false` when
    /// the connection is gone.
    async fn push_if_changed(&mut self, answer: &PropSessions) -> bool {
        let prop = self.watcher.prop();
        let Ok(data) = data_of(prop, &answer.sessions) else {
            return true;
        };
        if data.get() == self.last.get() {
            return true;
        }
        let pushes = &self.state.pushes;
        let sequence = pushes.next_prop_number(&self.user_id);
        // Kept first, so that a client that saw the push can resume after it.
        if let Err(error) = self
            .state
            .store
            .record_prop_push(&self.user_id, sequence)
            .await
        {
            tracing::warn!(%error, "cannot keep the number of a prop push");
        }
        let frame = Arc::new(crate::push::PushFrame::new(
            PROP_SESSIONS_UPDATED,
            sequence.to_string(),
            data.clone(),
        ));
        self.last = data;
        let active = lock(&self.active);
        *active && self.outlet.offer(&self.user_id, frame)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use super::*;

    #[test]
    fn a_watch_looks_just_after_the_next_start_or_end_and_at_least_hourly() {
        let now = Utc::now();
        assert_eq!(
            wait_for(Some(now + TimeDelta::seconds(30)), now),
            Duration::from_secs(30) + BOUNDARY_MARGIN
        );
        assert_eq!(
            wait_for(Some(now - TimeDelta::seconds(5)), now),
            BOUNDARY_MARGIN
        );
        assert_eq!(
            wait_for(Some(now + TimeDelta::days(400)), now),
            RECHECK_EVERY
        );
        assert_eq!(wait_for(None, now), RECHECK_EVERY);
    }
}
