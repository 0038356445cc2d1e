//! Sessions as this process's own writes recently left them, so that a write that follows
//! one (a host editing a session again, a join of a session just created) can start from
//! them without reading the session first.
//!
//! A recent value may be stale — another process may have changed the session since —
//! so it is only a starting point for a *conditional* write, never an answer: the write's
//! filter holds what the decision relied on, and an outcome decided from a recent value
//! that is not a write that took place (a refusal, "nothing to do", a write whose
//! condition no longer held) is decided again from a fresh read (see
//! `app::access::VisibleSession::load_for_write`). A value is offered only while no newer
//! version of its session, nor its deletion, has passed through this process
//! (`versions`), for a few seconds after the write, and for sessions of modest size: at
//! most [`CAPACITY`] values of at most [`MAX_PEOPLE`] people each are held.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::domain::session::Session;

/// How long after its write a value is offered.
const USABLE_FOR: Duration = Duration::from_secs(10);
/// Most values held.
const CAPACITY: usize = 1024;
/// Largest session held, in invitations, participants and waiting people: larger ones are
/// read each time, as before.
const MAX_PEOPLE: usize = 256;

/// The values, and the order they were written in (oldest first; a key written again
/// appears again, and its older entries are skipped when they come up).
#[derive(Debug, Default)]
pub struct RecentSessions {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    by_id: HashMap<String, (Instant, Arc<Session>)>,
    written: VecDeque<(Instant, String)>,
}

impl RecentSessions {
    /// Keeps `session` as a write left it (unless it is too large to hold).
    pub fn keep(&self, session: &Session) {
        let people = session.invited.len() + session.joined.len() + session.waitlist.len();
        if people > MAX_PEOPLE {
            self.forget(&session.id);
            return;
        }
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state
            .by_id
            .insert(session.id.to_string(), (now, Arc::new(session.clone())));
        state.written.push_back((now, session.id.to_string()));
        while let Some((written_at, id)) = state.written.front().cloned() {
            let over = state.by_id.len() > CAPACITY || state.written.len() > 2 * CAPACITY;
            if !over && written_at.elapsed() < USABLE_FOR {
                break;
            }
            state.written.pop_front();
            if state
                .by_id
                .get(&id)
                .is_some_and(|(kept_at, _)| *kept_at == written_at)
            {
                state.by_id.remove(&id);
            }
        }
    }

    /// Forgets what is held of `session_id`.
    pub fn forget(&self, session_id: &str) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.by_id.remove(session_id);
    }

    /// The value held of `session_id`, if it was written less than [`USABLE_FOR`] ago.
    pub fn get(&self, session_id: &str) -> Option<Arc<Session>> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state
            .by_id
            .get(session_id)
            .filter(|(written_at, _)| written_at.elapsed() < USABLE_FOR)
            .map(|(_, session)| Arc::clone(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Timestamp;

    fn session(id: &str, version: i64) -> Session {
        let mut session = Session::new(id.into(), "owner", None, Timestamp::now());
        session.version = version;
        session
    }

    #[test]
    fn the_last_write_of_a_session_is_offered() {
        let recent = RecentSessions::default();
        recent.keep(&session("s", 1));
        recent.keep(&session("s", 2));
        assert_eq!(recent.get("s").map(|kept| kept.version), Some(2));
        recent.forget("s");
        assert!(recent.get("s").is_none());
    }

    #[test]
    fn the_oldest_values_make_room_and_large_sessions_are_not_held() {
        let recent = RecentSessions::default();
        for index in 0..=CAPACITY {
            recent.keep(&session(&format!("s{index}"), 1));
        }
        assert!(recent.get("s0").is_none());
        assert!(recent.get(&format!("s{CAPACITY}")).is_some());
        // Writing one session many times does not grow what is held.
        for version in 0..(4 * CAPACITY as i64) {
            recent.keep(&session("busy", version));
        }
        let state = recent.state.lock().unwrap();
        assert!(state.written.len() <= 2 * CAPACITY + 1);
        drop(state);
        let mut large = session("large", 1);
        large.joined = (0..=MAX_PEOPLE).map(|index| format!("u{index}")).collect();
        recent.keep(&session("large", 0));
        recent.keep(&large);
        assert!(recent.get("large").is_none());
    }
}
