//! Sessions as this process's own writes left them, kept until their push comes back
//! through the bus, so that delivering it renders them without reading the session again.
//!
//! A kept value is only used while it is not older than a value of the same session this
//! process has already pushed (the session's `version` counts its writes), nor than its
//! deletion: pushes reach the bus in the order their documents were inserted, which may
//! differ from the order of the writes, and a client must never see a session go back to
//! an older state. A value is used at most once and only for a few seconds; otherwise
//! the session is read as it is now, as for the pushes of other processes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::domain::session::Session;

/// How long a kept value may be used after its write.
const USABLE_FOR: Duration = Duration::from_secs(5);
/// How long the newest pushed version of a session is remembered; far longer than
/// [`USABLE_FOR`], so that a forgotten version can only be older than any usable value.
const REMEMBERED_FOR: Duration = Duration::from_secs(60);
/// Entries beyond which expired ones are dropped.
const PRUNE_AT: usize = 10_000;

/// The kept values and the newest version pushed of each session.
#[derive(Debug, Default)]
pub struct WrittenSessions {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// By push id: when it was kept, and the session as written.
    kept: HashMap<String, (Instant, Arc<Session>)>,
    /// By session id: the newest version pushed (`i64::MAX` once deleted), and when.
    pushed: HashMap<String, (i64, Instant)>,
}

impl WrittenSessions {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `session` as written, for the push `push_id`.
    pub fn keep(&self, push_id: &str, session: Arc<Session>) {
        let now = Instant::now();
        let mut state = self.lock();
        if state.kept.len() >= PRUNE_AT {
            state
                .kept
                .retain(|_, (kept_at, _)| now.duration_since(*kept_at) < USABLE_FOR);
        }
        state.kept.insert(push_id.to_owned(), (now, session));
    }

    /// The value kept for `push_id`, when it may still be pushed; forgets it either way.
    pub fn take(&self, push_id: &str) -> Option<Arc<Session>> {
        let mut state = self.lock();
        let (kept_at, session) = state.kept.remove(push_id)?;
        let newest_pushed = state.pushed.get(&session.id).map(|(version, _)| *version);
        let usable = kept_at.elapsed() < USABLE_FOR
            && newest_pushed.is_none_or(|newest| newest <= session.version);
        usable.then_some(session)
    }

    /// Notes that `session` is being pushed.
    pub fn pushed(&self, session: &Session) {
        self.note(&session.id, session.version);
    }

    /// Notes that the session `session_id` was deleted: no kept value of it is pushed.
    pub fn deleted(&self, session_id: &str) {
        self.note(session_id, i64::MAX);
    }

    fn note(&self, session_id: &str, version: i64) {
        let now = Instant::now();
        let mut state = self.lock();
        if state.pushed.len() >= PRUNE_AT {
            state
                .pushed
                .retain(|_, (_, noted_at)| now.duration_since(*noted_at) < REMEMBERED_FOR);
        }
        let entry = state
            .pushed
            .entry(session_id.to_owned())
            .or_insert((version, now));
        *entry = (entry.0.max(version), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Timestamp;

    fn session(id: &str, version: i64) -> Arc<Session> {
        let mut session = Session::new(id.into(), "owner", None, Timestamp::now());
        session.version = version;
        Arc::new(session)
    }

    #[test]
    fn a_kept_value_is_used_once() {
        let written = WrittenSessions::default();
        written.keep("push-1", session("s", 3));
        assert_eq!(
            written.take("push-1").map(|session| session.version),
            Some(3)
        );
        assert!(written.take("push-1").is_none());
        assert!(written.take("push-unknown").is_none());
    }

    #[test]
    fn a_value_older_than_one_already_pushed_is_not_used() {
        let written = WrittenSessions::default();
        written.keep("push-older", session("s", 3));
        written.keep("push-same", session("s", 5));
        written.pushed(&session("s", 5));
        assert!(written.take("push-older").is_none());
        assert!(written.take("push-same").is_some());
    }

    #[test]
    fn a_value_of_a_deleted_session_is_not_used() {
        let written = WrittenSessions::default();
        written.keep("push-1", session("s", 3));
        written.deleted("s");
        written.pushed(&session("s", 4));
        assert!(written.take("push-1").is_none());
    }

    #[test]
    fn other_sessions_do_not_matter() {
        let written = WrittenSessions::default();
        written.keep("push-1", session("s", 3));
        written.pushed(&session("t", 9));
        assert!(written.take("push-1").is_some());
    }
}
