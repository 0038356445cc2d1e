//! Sessions as this process's own writes left them, kept until their push comes back
//! through the bus, so that delivering it renders them without reading the session again.
//!
//! A kept value is only used while no newer version of that session, nor its deletion,
//! has passed through this process since (`store::versions`: every session read, written
//! or named by a push is noted there): pushes reach the bus in the order their documents
//! were inserted, which may differ from the order of the writes, and a client must not see
//! a session go back to an older state than this process has shown it. A value is used at
//! most once and only for a few seconds; otherwise the session is read as it is now, as
//! for the pushes of other processes.

use std::sync::Arc;
use std::time::Duration;

use crate::aging::AgingMap;
use crate::domain::session::Session;
use crate::store::versions::{REMEMBERED_FOR, SessionVersions};

/// How long a kept value may be used after its write; far shorter than the ledger of
/// versions remembers, so that a version it forgot can only be older than the value.
const USABLE_FOR: Duration = Duration::from_secs(5);
const _: () = assert!(USABLE_FOR.as_secs() * 10 <= REMEMBERED_FOR.as_secs());

/// The kept values, by push id.
#[derive(Debug)]
pub struct WrittenSessions {
    kept: AgingMap<Arc<Session>>,
}

impl Default for WrittenSessions {
    fn default() -> Self {
        WrittenSessions {
            kept: AgingMap::new(USABLE_FOR),
        }
    }
}

impl WrittenSessions {
    /// Keeps `session` as written, for the push `push_id`.
    pub fn keep(&self, push_id: &str, session: Arc<Session>) {
        self.kept.write(push_id, |_| session);
    }

    /// Keeps the value kept for push `from` for push `to` instead (the push was given
    /// another id before it was published).
    pub fn rename(&self, from: &str, to: &str) {
        if let Some((_, session)) = self.kept.remove(from) {
            self.kept.write(to, |_| session);
        }
    }

    /// Forgets the value kept for `push_id` (its push was never published).
    pub fn forget(&self, push_id: &str) {
        self.kept.remove(push_id);
    }

    /// Forgets every kept value (pushes may have been missed).
    pub fn forget_all(&self) {
        self.kept.clear();
    }

    /// The value kept for `push_id`, when it is still the newest this process has seen of
    /// its session; forgets it either way.
    pub fn take(&self, push_id: &str, versions: &SessionVersions) -> Option<Arc<Session>> {
        let (age, session) = self.kept.remove(push_id)?;
        let usable = age < USABLE_FOR && versions.is_newest(&session.id, session.version);
        usable.then_some(session)
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
        let (written, versions) = (WrittenSessions::default(), SessionVersions::default());
        written.keep("push-1", session("s", 3));
        let taken = written.take("push-1", &versions);
        assert_eq!(taken.map(|session| session.version), Some(3));
        assert!(written.take("push-1", &versions).is_none());
        assert!(written.take("push-unknown", &versions).is_none());
    }

    #[test]
    fn a_value_older_than_one_seen_is_not_used() {
        let (written, versions) = (WrittenSessions::default(), SessionVersions::default());
        written.keep("push-older", session("s", 3));
        written.keep("push-same", session("s", 5));
        versions.note("s", 5);
        assert!(written.take("push-older", &versions).is_none());
        assert!(written.take("push-same", &versions).is_some());
    }

    #[test]
    fn a_value_of_a_deleted_session_is_not_used() {
        let (written, versions) = (WrittenSessions::default(), SessionVersions::default());
        written.keep("push-1", session("s", 3));
        versions.note_deleted("s");
        assert!(written.take("push-1", &versions).is_none());
    }

    #[test]
    fn forgotten_values_are_not_used() {
        let (written, versions) = (WrittenSessions::default(), SessionVersions::default());
        written.keep("push-1", session("s", 3));
        written.keep("push-2", session("t", 3));
        written.forget("push-1");
        assert!(written.take("push-1", &versions).is_none());
        written.forget_all();
        assert!(written.take("push-2", &versions).is_none());
    }
}
