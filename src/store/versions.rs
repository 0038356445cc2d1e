//! The newest `version` of each session this process has seen: read, written, or named by
//! a push (its deletion counts as newer than any version). A session value is known to be
//! current for this process's clients only when no newer version has passed through it;
//! `push::written` relies on this before it pushes a session as a write left it.
//!
//! Entries are forgotten a minute after they were last noted (pruned at most once a
//! second, when there are many); a value that is checked against this ledger must be at
//! most a few seconds old, so a forgotten version can only be older than it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::Store;

/// How long a noted version is remembered after it was last noted.
pub const REMEMBERED_FOR: Duration = Duration::from_secs(60);
/// Entries beyond which the ledger drops expired ones.
const PRUNE_AT: usize = 10_000;
/// Least pause between two prunings.
const PRUNE_EVERY: Duration = Duration::from_secs(1);
/// The version noted for a deleted session.
const DELETED: i64 = i64::MAX;

/// Newest version seen of each session.
#[derive(Debug)]
pub struct SessionVersions {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    newest: HashMap<String, (i64, Instant)>,
    pruned_at: Instant,
}

impl Default for SessionVersions {
    fn default() -> Self {
        SessionVersions {
            state: Mutex::new(State {
                newest: HashMap::new(),
                pruned_at: Instant::now(),
            }),
        }
    }
}

impl SessionVersions {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes that `version` of `session_id` was seen.
    pub fn note(&self, session_id: &str, version: i64) {
        let now = Instant::now();
        let mut state = self.lock();
        if state.newest.len() >= PRUNE_AT && now.duration_since(state.pruned_at) >= PRUNE_EVERY {
            state
                .newest
                .retain(|_, (_, noted_at)| now.duration_since(*noted_at) < REMEMBERED_FOR);
            state.pruned_at = now;
        }
        match state.newest.get_mut(session_id) {
            Some(entry) => *entry = (entry.0.max(version), now),
            None => {
                state.newest.insert(session_id.to_owned(), (version, now));
            }
        }
    }

    /// Notes that `session_id` was deleted.
    pub fn note_deleted(&self, session_id: &str) {
        self.note(session_id, DELETED);
    }

    /// Whether `version` is at least the newest version of `session_id` seen (and the
    /// session was not seen deleted).
    pub fn is_newest(&self, session_id: &str, version: i64) -> bool {
        self.lock()
            .newest
            .get(session_id)
            .is_none_or(|(newest, _)| *newest <= version)
    }
}

impl Store {
    /// This process's ledger of session versions.
    pub fn session_versions(&self) -> &SessionVersions {
        &self.session_versions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_newest_until_a_newer_one_or_the_deletion_is_seen() {
        let versions = SessionVersions::default();
        assert!(versions.is_newest("s", 0));
        versions.note("s", 5);
        assert!(versions.is_newest("s", 5));
        assert!(!versions.is_newest("s", 4));
        versions.note("s", 3);
        assert!(
            !versions.is_newest("s", 4),
            "an older version seen later changes nothing"
        );
        assert!(versions.is_newest("t", 0), "other sessions do not matter");
        versions.note_deleted("s");
        assert!(!versions.is_newest("s", 6));
    }
}
